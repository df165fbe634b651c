package depth

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/mlpsweep/mlpsweep/internal/words"
)

// Findings explains a depth study in a few paragraphs written from its
// measurements: every number is quoted from the runs, and a paragraph
// whose runs are missing (a study of one depth, no batch norm variant…)
// is left out.
func (r *DepthStudyResult) Findings() []string {
	var out []string
	for _, f := range []func() string{
		r.vanishingFinding, r.remedyFinding, r.signalFinding, r.trainingFinding,
		r.batchNormFinding, r.overfittingFinding, r.costFinding, r.divergenceFinding,
	} {
		if s := f(); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// shallowDeep returns the smallest and largest depth.
func (r *DepthStudyResult) shallowDeep() (int, int) {
	if len(r.Depths) == 0 {
		return 0, 0
	}
	return r.Depths[0], r.Depths[len(r.Depths)-1]
}

// initRatio is variant's gradient ratio at initialization at depth; NaN if
// the run is missing or failed.
func (r *DepthStudyResult) initRatio(variant string, depth int) float64 {
	run := r.Run(variant, depth)
	if run == nil || run.Failed() {
		return math.NaN()
	}
	return GradRatio(run.Init)
}

// lastGradNorm is ‖∂L/∂W_L‖ at initialization.
func lastGradNorm(run *DepthResult) float64 {
	if n := len(run.Init.GradNorm); n > 0 {
		return run.Init.GradNorm[n-1]
	}
	return math.NaN()
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// worstVariant is the variant with the smallest finite gradient ratio at
// depth, or "".
func (r *DepthStudyResult) worstVariant(depth int) string {
	worst, low := "", math.Inf(1)
	for _, v := range r.Variants {
		if x := r.initRatio(v, depth); finite(x) && x < low {
			worst, low = v, x
		}
	}
	return worst
}

func (r *DepthStudyResult) vanishingFinding() string {
	shallow, deep := r.shallowDeep()
	worst := r.worstVariant(deep)
	if deep == shallow || worst == "" {
		return ""
	}
	r1, rD := r.initRatio(worst, shallow), r.initRatio(worst, deep)
	if !finite(r1) || rD >= r1 {
		return ""
	}
	s := fmt.Sprintf("Vanishing gradients: at initialization the gradient reaching the first layer shrinks with depth. "+
		"With %s, ‖∂L/∂W₁‖ is %s of the last layer's ‖∂L/∂W_L‖ at depth %d and %s at depth %d, a factor of %s per added hidden layer.",
		worst, formatRatio(r1), shallow, formatRatio(rD), deep, formatRatio(math.Pow(rD/r1, 1/float64(deep-shallow))))
	run := r.Run(worst, deep)
	if run.Config.Activation == "sigmoid" && len(run.Init.Hidden) > 0 {
		var mean float64
		for _, h := range run.Init.Hidden {
			mean += h.Mean
		}
		mean /= float64(len(run.Init.Hidden))
		s += fmt.Sprintf(" Backpropagation multiplies the gradient at every layer by the activation's derivative, and sigmoid's, σ′ = y(1−y), "+
			"is at most 0.25, at y = 0.5 (the hidden units average y = %.2f here).", mean)
	}
	return s
}

func (r *DepthStudyResult) remedyFinding() string {
	_, deep := r.shallowDeep()
	worst := r.worstVariant(deep)
	low := r.initRatio(worst, deep)
	if worst == "" || low <= 0 {
		return ""
	}
	var parts []string
	for _, v := range r.Variants {
		x := r.initRatio(v, deep)
		if v == worst || !finite(x) {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %s (%+.1f orders of magnitude)", v, formatRatio(x), math.Log10(x/low)))
	}
	if len(parts) == 0 {
		return ""
	}
	s := fmt.Sprintf("At depth %d the other variants keep far more of the gradient for the first layer (‖∂L/∂W₁‖/‖∂L/∂W_L‖; 1 means the first layer gets as much as the last; in brackets, against %s's %s): %s.",
		deep, worst, formatRatio(low), strings.Join(parts, ", "))
	var over []string
	for _, v := range r.Variants {
		if x := r.initRatio(v, deep); finite(x) && x > 10 {
			over = append(over, fmt.Sprintf("%s's %s", v, formatRatio(x)))
		}
	}
	if len(over) > 0 {
		s += fmt.Sprintf(" A ratio above 1 means the gradient grows on its way down: %s at depth %d is an exploding gradient rather than a vanishing one.", strings.Join(over, ", "), deep)
	}
	return s
}

// signalFinding reports variants whose whole gradient (not just its
// ratio) fades or grows with depth, with the output std that goes with it.
func (r *DepthStudyResult) signalFinding() string {
	shallow, deep := r.shallowDeep()
	if deep == shallow {
		return ""
	}
	var fading, growing []string
	var reluGlorot, residual, unnormalizedSums bool
	for _, v := range r.Variants {
		a, b := r.Run(v, shallow), r.Run(v, deep)
		if a == nil || b == nil || a.Failed() || b.Failed() {
			continue
		}
		gA, gB := lastGradNorm(a), lastGradNorm(b)
		sA, sB := lastHiddenStd(a.Init), lastHiddenStd(b.Init)
		if !finite(gA) || !finite(gB) || gA <= 0 || !finite(sA) || !finite(sB) || sA <= 0 {
			continue
		}
		item := fmt.Sprintf("%s %s → %s (%s → %s)", v, formatRatio(gA), formatRatio(gB), formatRatio(sA), formatRatio(sB))
		c := b.Config
		switch {
		case gB/gA < 0.1 && sB/sA < 0.1:
			fading = append(fading, item)
			reluGlorot = reluGlorot || (c.Activation == "relu" && c.Init == "glorot_uniform" && !c.BatchNorm && !c.Residual)
		case gB/gA > 10 || sB/sA > 10:
			growing = append(growing, item)
			residual = residual || c.Residual
			unnormalizedSums = unnormalizedSums || (c.Residual && !c.BatchNorm && sB/sA > 3)
		}
	}
	if len(fading)+len(growing) == 0 {
		return ""
	}
	s := fmt.Sprintf("The ratio is not the whole story; compare the last layer's gradient norm at depth %d and %d (in brackets, the last hidden layer's output std).", shallow, deep)
	if len(fading) > 0 {
		s += " Where the signal fades, every layer's gradient shrinks together: " + strings.Join(fading, ", ") + "."
		if reluGlorot {
			s += " glorot_uniform's weight variance 2/(fan_in+fan_out) suits tanh; relu zeroes half of its inputs and so halves the signal's variance at every layer, which he_normal's 2/fan_in makes up for."
		}
	}
	if len(growing) > 0 {
		s += " Where it grows, so do the gradients: " + strings.Join(growing, ", ") + "."
		if residual {
			s += " Skip connections add every hidden layer's output into the output layer's input"
			if unnormalizedSums {
				s += "; without batch normalization nothing keeps these sums, each layer's input, in scale"
			}
			s += "."
		}
	}
	return s
}

func (r *DepthStudyResult) trainingFinding() string {
	shallow, deep := r.shallowDeep()
	var ref *DepthResult
	for i := range r.Runs {
		if !r.Runs[i].Failed() {
			ref = &r.Runs[i]
			break
		}
	}
	if ref == nil {
		return ""
	}
	c := ref.Config
	s := fmt.Sprintf("Training: after %s of %s (learning rate %g, batch %d) on %s, ", words.Count(r.Epochs, "epoch"), c.Optimizer, c.LR, c.Batch, r.Data)
	accuracies := func(depth int) (lo, hi float64, list []string) {
		lo, hi = math.Inf(1), math.Inf(-1)
		var runs []*DepthResult
		for _, v := range r.Variants {
			if run := r.Run(v, depth); run != nil && !run.Failed() {
				runs = append(runs, run)
				lo, hi = min(lo, run.Accuracy), max(hi, run.Accuracy)
			}
		}
		slices.SortStableFunc(runs, func(a, b *DepthResult) int { return -compareFloat(a.Accuracy, b.Accuracy) })
		for _, run := range runs {
			list = append(list, fmt.Sprintf("%s %.4f", run.Variant, run.Accuracy))
		}
		return lo, hi, list
	}
	lo, hi, _ := accuracies(shallow)
	s += fmt.Sprintf("the variants reach %.4f–%.4f held-out accuracy at depth %d", lo, hi, shallow)
	if deep == shallow {
		return s + "."
	}
	_, _, list := accuracies(deep)
	s += fmt.Sprintf(" and, at depth %d, %s.", deep, strings.Join(list, ", "))
	var reached, chance []string
	total := 0
	for _, v := range r.Variants {
		run := r.Run(v, deep)
		if run == nil || run.Failed() {
			continue
		}
		total++
		if e := run.epochsTo(depthTarget); e > 0 {
			reached = append(reached, fmt.Sprintf("%s after %s", v, words.Count(e, "epoch")))
		}
		if r.Classes > 0 && run.Accuracy < 1.5/float64(r.Classes) {
			chance = append(chance, v)
		}
	}
	s += fmt.Sprintf(" At depth %d, %d of %d variants reach %.0f%% held-out accuracy", deep, len(reached), total, 100*depthTarget)
	if len(reached) > 0 {
		s += " (" + strings.Join(reached, ", ") + ")"
	}
	s += "."
	if len(chance) > 0 {
		verb := "stay"
		if len(chance) == 1 {
			verb = "stays"
		}
		s += fmt.Sprintf(" %s %s near chance (%.0f%% for %d classes).", strings.Join(chance, ", "), verb, 100/float64(r.Classes), r.Classes)
	}
	return s
}

func compareFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// batchNormFinding explains a batch-normalized run whose held-out accuracy
// trails its training accuracy: inference uses the moving statistics.
func (r *DepthStudyResult) batchNormFinding() string {
	var worst *DepthResult
	gap := 0.1
	for i := range r.Runs {
		run := &r.Runs[i]
		if run.Config.BatchNorm && run.Error == "" && run.epochAccuracy()-run.Accuracy > gap {
			worst, gap = run, run.epochAccuracy()-run.Accuracy
		}
	}
	if worst == nil || r.TrainRows == 0 {
		return ""
	}
	steps := len(worst.Epochs) * ((r.TrainRows + worst.Config.Batch - 1) / worst.Config.Batch)
	return fmt.Sprintf("Batch normalization trains, but its held-out accuracy can lag: %s at depth %d reaches %.4f training accuracy but %.4f held-out. "+
		"At inference batch normalization uses moving statistics (momentum 0.99), which after the run's %d steps still weigh their initial values (mean 0, variance 1) by 0.99^%d = %.3g; "+
		"more steps (rows or epochs) close the gap.",
		worst.Variant, worst.Depth, worst.epochAccuracy(), worst.Accuracy, steps, steps, math.Pow(0.99, float64(steps)))
}

func (r *DepthStudyResult) overfittingFinding() string {
	var top *DepthResult
	gap := math.Inf(-1)
	for i := range r.Runs {
		run := &r.Runs[i]
		if run.Error != "" || len(run.Epochs) == 0 {
			continue
		}
		if g := run.TrainAccuracy - run.Accuracy; g > gap {
			top, gap = run, g
		}
	}
	if top == nil {
		return ""
	}
	s := fmt.Sprintf("Overfitting: the largest gap between the final models' accuracy on the first %d training rows and on the held-out rows is %+.4f (%s at depth %d: %.4f against %.4f)",
		min(r.TrainRows, depthTrainRows), gap, top.Variant, top.Depth, top.TrainAccuracy, top.Accuracy)
	switch {
	case gap < 0.03:
		s += ", so in these runs depth hurts through optimization, not through overfitting"
	case gap < 0.1:
		s += ", a first sign of overfitting"
	default:
		s += ": that network overfits"
	}
	shallow, deep := r.shallowDeep()
	if a, b := r.Run(top.Variant, shallow), r.Run(top.Variant, deep); deep != shallow && a != nil && b != nil {
		s += fmt.Sprintf("; deeper networks have more parameters to fit with (%d at depth %d against %d at depth %d)", b.Trainable, deep, a.Trainable, shallow)
	}
	return s + "."
}

// costFinding compares the mean epoch time over variants at the smallest
// and largest depth.
func (r *DepthStudyResult) costFinding() string {
	shallow, deep := r.shallowDeep()
	if deep == shallow {
		return ""
	}
	mean := func(depth int) (seconds float64, params int) {
		n := 0
		for _, v := range r.Variants {
			if run := r.Run(v, depth); run != nil && finite(run.secondsPerEpoch()) {
				seconds += run.secondsPerEpoch()
				params = max(params, run.Trainable)
				n++
			}
		}
		return seconds / float64(n), params
	}
	s1, p1 := mean(shallow)
	s2, p2 := mean(deep)
	if !finite(s1) || !finite(s2) || s1 <= 0 {
		return ""
	}
	return fmt.Sprintf("Cost: an epoch took %.2f s at depth %d and %.2f s at depth %d on average over the variants (%.1f×), for up to %d against %d parameters; "+
		"every added layer costs its share of each step's forward and backward pass.", s1, shallow, s2, deep, s2/s1, p2, p1)
}

func (r *DepthStudyResult) divergenceFinding() string {
	var parts []string
	for i := range r.Runs {
		run := &r.Runs[i]
		if !run.Diverged {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s at depth %d (%s; at initialization its last hidden layer's output std was %s and ‖∂L/∂W_L‖ %s)",
			run.Variant, run.Depth, run.Error, formatRatio(lastHiddenStd(run.Init)), formatRatio(lastGradNorm(run))))
	}
	if len(parts) == 0 {
		return ""
	}
	return "Diverged (the loss became NaN or infinite): " + strings.Join(parts, "; ") + "."
}
