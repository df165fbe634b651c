package scheduler

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/mlpsweep/mlpsweep/sweeps"
)

// Shard is one slice of a study's units for a batch scheduler's array
// task: shard Index of Count (0 ≤ Index < Count). The zero Shard (Count 0)
// means the whole study.
type Shard struct {
	Index, Count int
	Source       string // where it came from, for messages: "--shard", "SLURM_ARRAY_TASK_ID=3, SLURM_ARRAY_TASK_COUNT=10", ...
}

// ErrBadShard is returned (wrapped) for a shard that is malformed or out
// of range, from a flag or from the environment: a usage error.
var ErrBadShard = errors.New("bad shard")

// Sharded reports whether s selects a slice rather than the whole study.
func (s Shard) Sharded() bool { return s.Count > 0 }

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// check validates s's index against its count.
func (s Shard) check() error {
	switch {
	case s.Count < 1:
		return fmt.Errorf("%w: %s: the shard count must be ≥ 1, got %d", ErrBadShard, s.Source, s.Count)
	case s.Index < 0 || s.Index >= s.Count:
		return fmt.Errorf("%w: %s: index %d is out of range for %d shards (want 0 to %d)", ErrBadShard, s.Source, s.Index, s.Count, s.Count-1)
	}
	return nil
}

// ParseShard parses "I/N", shard I of N counting from 0.
func ParseShard(v string) (Shard, error) {
	s := Shard{Source: "--shard " + v}
	i, n, ok := strings.Cut(v, "/")
	if !ok {
		return s, fmt.Errorf("%w: --shard %q: want I/N, shard I of N counting from 0 (e.g. 0/3, 1/3, 2/3)", ErrBadShard, v)
	}
	var err error
	if s.Index, err = strconv.Atoi(strings.TrimSpace(i)); err != nil {
		return s, fmt.Errorf("%w: --shard %q: index %q is not a whole number; want I/N (e.g. 0/3)", ErrBadShard, v, i)
	}
	if s.Count, err = strconv.Atoi(strings.TrimSpace(n)); err != nil {
		return s, fmt.Errorf("%w: --shard %q: count %q is not a whole number; want I/N (e.g. 0/3)", ErrBadShard, v, n)
	}
	return s, s.check()
}

// Environment variables that batch schedulers set in an array task.
const (
	EnvSlurmTaskID    = "SLURM_ARRAY_TASK_ID"
	EnvSlurmTaskCount = "SLURM_ARRAY_TASK_COUNT"
	EnvSlurmTaskMin   = "SLURM_ARRAY_TASK_MIN"
	EnvSlurmTaskMax   = "SLURM_ARRAY_TASK_MAX"
	EnvJobIndex       = "JOB_COMPLETION_INDEX" // Kubernetes Indexed Job
)

// ShardFromEnv picks the shard of an array task when no --shard is given.
// count is --shard-count (0 when not given). It returns:
//   - with JOB_COMPLETION_INDEX set (a Kubernetes Indexed Job): that index
//     of count shards, which must then be given (the Job's completions);
//   - with SLURM_ARRAY_TASK_ID set (a Slurm job array): shard ID of
//     SLURM_ARRAY_TASK_COUNT, or of count when given (they must then
//     agree); the array must run 0 to N-1 (SLURM_ARRAY_TASK_MIN and _MAX,
//     when set, are checked), since a partial array (one task rerun,
//     --array=1-N, a list) would split the study another way: give --shard
//     for those;
//   - otherwise the zero Shard (the whole study), or an error when count
//     was given, since there is no index to go with it.
//
// lookup is os.LookupEnv in the command.
func ShardFromEnv(lookup func(string) (string, bool), count int) (Shard, error) {
	num := func(name string) (int, bool, error) {
		v, ok := lookup(name)
		if !ok || strings.TrimSpace(v) == "" {
			return 0, false, nil
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return 0, true, fmt.Errorf("%w: %s=%q is not a whole number", ErrBadShard, name, v)
		}
		return n, true, nil
	}
	if count < 0 {
		return Shard{}, fmt.Errorf("%w: --shard-count %d: the shard count must be ≥ 1", ErrBadShard, count)
	}
	k8s, haveK8s, err := num(EnvJobIndex)
	if err != nil {
		return Shard{}, err
	}
	slurm, haveSlurm, err := num(EnvSlurmTaskID)
	if err != nil {
		return Shard{}, err
	}
	switch {
	case haveK8s && haveSlurm:
		return Shard{}, fmt.Errorf("%w: both %s and %s are set: give --shard I/N to say which shard this is", ErrBadShard, EnvJobIndex, EnvSlurmTaskID)
	case haveK8s:
		if count == 0 {
			return Shard{}, fmt.Errorf("%w: %s=%d is set (a Kubernetes Indexed Job) but --shard-count is not: give --shard-count N with N the Job's completions",
				ErrBadShard, EnvJobIndex, k8s)
		}
		s := Shard{Index: k8s, Count: count, Source: fmt.Sprintf("%s=%d with --shard-count %d", EnvJobIndex, k8s, count)}
		return s, s.check()
	case haveSlurm:
		n, haveN, err := num(EnvSlurmTaskCount)
		if err != nil {
			return Shard{}, err
		}
		src := fmt.Sprintf("%s=%d", EnvSlurmTaskID, slurm)
		switch {
		case haveN && count > 0 && n != count:
			return Shard{}, fmt.Errorf("%w: %s=%d but --shard-count %d: leave --shard-count out in a Slurm job array, or make them agree",
				ErrBadShard, EnvSlurmTaskCount, n, count)
		case haveN:
			src += fmt.Sprintf(", %s=%d", EnvSlurmTaskCount, n)
		case count > 0:
			n = count
			src += fmt.Sprintf(" with --shard-count %d", n)
		default:
			return Shard{}, fmt.Errorf("%w: %s=%d is set but %s is not (Slurm older than 17.11?): give --shard-count N with N the array's size",
				ErrBadShard, EnvSlurmTaskID, slurm, EnvSlurmTaskCount)
		}
		// The task ID is the shard index: the array must be 0 to N-1. Any
		// other array (1-N, a step, a list, one task rerun) would silently
		// split the study another way, so it is refused.
		lo, haveLo, err := num(EnvSlurmTaskMin)
		if err != nil {
			return Shard{}, err
		}
		hi, haveHi, err := num(EnvSlurmTaskMax)
		if err != nil {
			return Shard{}, err
		}
		if haveLo && lo != 0 || haveHi && hi != n-1 {
			return Shard{}, fmt.Errorf("%w: %s, %s=%d, %s=%d: shard indices are the task IDs of a whole array 0 to N-1 (--array=0-9 for 10 shards), and this array runs %d to %d; to rerun some tasks, give each its shard: sbatch --array=%d ... --shard %d/N, N the whole array's size",
				ErrBadShard, src, EnvSlurmTaskMin, lo, EnvSlurmTaskMax, hi, lo, hi, slurm, slurm)
		}
		s := Shard{Index: slurm, Count: n, Source: src}
		if err := s.check(); err != nil {
			return s, fmt.Errorf("%w; the array must run 0 to %d (--array=0-%d), one task per shard", err, n-1, n-1)
		}
		return s, nil
	case count > 0:
		return Shard{}, fmt.Errorf("%w: --shard-count %d needs a shard index: run in a Kubernetes Indexed Job (%s) or a Slurm job array (%s), or give --shard I/N",
			ErrBadShard, count, EnvJobIndex, EnvSlurmTaskID)
	}
	return Shard{}, nil
}

// AssignShards splits units into count shards balanced by cost (a unit's
// expected work), deterministically: greedy longest-processing-time first
// over the units sorted by cost, largest first, then by configuration key
// and fold, each going to the shard with the least work so far (the lowest
// index on a tie). Every unit lands in exactly one shard, each shard keeps
// the order units have in the input, and no shard's work exceeds the mean
// by more than the largest unit's (Graham's bound). It depends only on the
// units and their costs, so every array task computes the same split.
func AssignShards(units []sweeps.Unit, cost func(sweeps.Unit) int64, count int) [][]sweeps.Unit {
	if count < 1 {
		count = 1
	}
	order := make([]int, len(units))
	costs := make([]int64, len(units))
	for i, u := range units {
		order[i], costs[i] = i, cost(u)
	}
	slices.SortStableFunc(order, func(a, b int) int {
		ua, ub := units[a].ID, units[b].ID
		return cmp.Or(cmp.Compare(costs[b], costs[a]), cmp.Compare(ua.Key, ub.Key), cmp.Compare(ua.Fold, ub.Fold))
	})
	load := make([]int64, count)
	shardOf := make([]int, len(units))
	for _, i := range order {
		best := 0
		for s := 1; s < count; s++ {
			if load[s] < load[best] {
				best = s
			}
		}
		load[best] += costs[i]
		shardOf[i] = best
	}
	shards := make([][]sweeps.Unit, count)
	for i, u := range units {
		shards[shardOf[i]] = append(shards[shardOf[i]], u)
	}
	return shards
}

// UnitWork is a unit's expected work in plan: epochs × Plan.EpochWork
// (its training, and the held-out rows scored after each epoch with
// curves), the cost AssignShards balances. It leaves out the scoring
// once at a unit's end without curves (Plan.Work counts it) on purpose:
// every array task must compute the same split, and shards of builds
// before that rule must keep theirs.
func (plan Plan) UnitWork(u sweeps.Unit) int64 {
	return int64(u.Point.Params.Epochs()) * plan.EpochWork(u)
}
