package study

import (
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"strings"
)

// presets holds the built-in studies. presets/seed.yaml is also shipped as
// examples/seed.yaml (a test keeps the two identical).
//
//go:embed presets/*.yaml
var presets embed.FS

// PresetNames lists the built-in studies.
func PresetNames() []string {
	files, _ := fs.Glob(presets, "presets/*.yaml")
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = strings.TrimSuffix(strings.TrimPrefix(f, "presets/"), ".yaml")
	}
	slices.Sort(names)
	return names
}

// PresetSource returns the YAML text of a built-in study.
func PresetSource(name string) ([]byte, error) {
	src, err := presets.ReadFile("presets/" + name + ".yaml")
	if err != nil {
		return nil, fmt.Errorf("no preset %q (have %s)", name, strings.Join(PresetNames(), ", "))
	}
	return src, nil
}

// Preset parses and expands a built-in study.
func Preset(name string) (*Study, error) {
	src, err := PresetSource(name)
	if err != nil {
		return nil, err
	}
	return ParseStudy(src, "preset "+name+".yaml")
}
