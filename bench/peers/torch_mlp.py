#!/usr/bin/python3
"""PyTorch peer for mlpsweep's epoch benchmark.

Trains the reference MLP the way `mlpsweep bench` and BenchmarkEpoch do —
784-128-10, ReLU, softmax cross-entropy, Adam (lr 0.001, eps 1e-7 as Keras),
batch 128, 45,000 MNIST-shaped rows of random float32 data, one thread — and
prints the median epoch time after one warm-up epoch.

Fairness: glibc's malloc hands large freed blocks back to the kernel, so every
training step pays page faults for PyTorch's temporaries (about 10 us each on
the VM this was written on; PyTorch trains about 3x faster without them).
mlpsweep keeps its buffers for the whole run, so this script re-executes
itself with MALLOC_MMAP_THRESHOLD_ and MALLOC_TRIM_THRESHOLD_ set to keep
freed memory in the process (pass --default-malloc to measure glibc's
defaults instead).

Run it with Debian's interpreter, which has python3-torch:
    /usr/bin/python3 bench/peers/torch_mlp.py [--ours SECONDS]
Exits 0 with a "skipped" line when PyTorch is not installed.
"""

import argparse
import os
import statistics
import sys
import time

# glibc malloc settings for the fair comparison: blocks up to 32 MiB (glibc's
# maximum mmap threshold) come from the heap, and freed heap memory is kept.
MALLOC_ENV = {
    "MALLOC_MMAP_THRESHOLD_": str(32 << 20),
    "MALLOC_TRIM_THRESHOLD_": str(1 << 30),
}
# One thread for every pool PyTorch or its BLAS may start.
THREAD_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=45000, help="training rows (default 45000)")
    p.add_argument("--batch", type=int, default=128, help="batch size (default 128)")
    p.add_argument("--epochs", type=int, default=3, help="measured epochs after one warm-up (default 3)")
    p.add_argument("--hidden", type=int, default=128, help="hidden width (default 128)")
    p.add_argument("--ours", type=float, help="mlpsweep's epoch seconds, to print the ratio")
    p.add_argument("--default-malloc", action="store_true",
                   help="keep glibc's default malloc thresholds (unfair to PyTorch, see above)")
    return p.parse_args()


def reexec_with_env(args):
    """Restart the interpreter with the malloc and thread settings, which
    glibc and the thread pools read only at start-up."""
    want = dict(THREAD_ENV)
    if not args.default_malloc:
        want.update(MALLOC_ENV)
    if all(os.environ.get(k) == v for k, v in want.items()):
        return
    env = dict(os.environ)
    env.update(want)
    os.execve(sys.executable, [sys.executable] + sys.argv, env)


def main():
    args = parse_args()
    reexec_with_env(args)
    try:
        import torch
    except ImportError:
        print(f"torch_mlp: skipped: PyTorch is not installed for {sys.executable} "
              "(Debian: apt-get install python3-torch, then run with /usr/bin/python3)")
        if args.ours:
            print(f"mlpsweep epoch: {args.ours:.3f} s (no PyTorch figure to compare)")
        return 0

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    torch.manual_seed(0)
    features, classes = 784, 10
    x = torch.rand(args.rows, features, dtype=torch.float32)
    y = torch.randint(0, classes, (args.rows,))

    model = torch.nn.Sequential(
        torch.nn.Linear(features, args.hidden), torch.nn.ReLU(), torch.nn.Linear(args.hidden, classes))
    for layer in (model[0], model[2]):  # Keras Dense defaults: glorot_uniform, zero bias
        torch.nn.init.xavier_uniform_(layer.weight)
        torch.nn.init.zeros_(layer.bias)
    loss_fn = torch.nn.CrossEntropyLoss()
    opt = torch.optim.Adam(model.parameters(), lr=0.001, betas=(0.9, 0.999), eps=1e-7)

    def epoch():
        """One shuffled pass with the loss and accuracy bookkeeping Keras's
        fit (and mlpsweep) does; returns its wall time in seconds."""
        start = time.perf_counter()
        order = torch.randperm(args.rows)
        loss_sum = torch.zeros(())
        correct = torch.zeros((), dtype=torch.long)
        for i in range(0, args.rows, args.batch):
            rows = order[i:i + args.batch]
            xb, yb = x[rows], y[rows]
            opt.zero_grad()
            logits = model(xb)
            loss = loss_fn(logits, yb)
            loss.backward()
            opt.step()
            loss_sum += loss.detach() * len(rows)
            correct += (logits.detach().argmax(1) == yb).sum()
        float(loss_sum), int(correct)  # wait for the bookkeeping, as Keras's progress does
        return time.perf_counter() - start

    epoch()  # warm-up: first-touch page faults, allocator caches
    seconds = statistics.median(epoch() for _ in range(args.epochs))

    malloc = "glibc default malloc" if args.default_malloc else \
        "MALLOC_MMAP_THRESHOLD_=32MiB MALLOC_TRIM_THRESHOLD_=1GiB"
    print(f"pytorch {torch.__version__} (1 thread, {malloc}): epoch 784-{args.hidden}-10 adam "
          f"batch {args.batch}, {args.rows} rows: {seconds:.3f} s ({args.rows / seconds:,.0f} samples/s), "
          f"median of {args.epochs} after 1 warm-up")
    if args.ours:
        print(f"mlpsweep epoch: {args.ours:.3f} s ({args.rows / args.ours:,.0f} samples/s)")
        ratio = seconds / args.ours
        faster, factor = ("mlpsweep", ratio) if ratio >= 1 else ("pytorch", 1 / ratio)
        print(f"ratio pytorch epoch / mlpsweep epoch: {ratio:.2f} ({faster} is {factor:.2f}x faster)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
