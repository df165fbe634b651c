package report

import (
	"bytes"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/sweeps"
)

// plotDPI renders plots at 1.5× the CSS pixel density so they stay sharp
// on high-density screens.
const plotDPI = 144

// NewPlot returns a plot with sans-serif text, a grid and axis labels.
func NewPlot(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	for _, f := range []*draw.TextStyle{&p.Title.TextStyle, &p.X.Label.TextStyle, &p.Y.Label.TextStyle,
		&p.X.Tick.Label, &p.Y.Tick.Label, &p.Legend.TextStyle} {
		f.Font.Variant = "Sans"
	}
	p.Title.Padding = vg.Points(6)
	p.Add(plotter.NewGrid())
	return p
}

// Curve is one line of a learning-curve plot.
type Curve struct {
	Label  string
	Points plotter.XYs // (epoch, value)
}

// meanCurve averages field over units epoch by epoch, each epoch over the
// units that reached it with a finite value (a diverged unit stops early).
func meanCurve(units []sweeps.UnitResult, field func(engine.EpochStats) float64) plotter.XYs {
	var sum []float64
	var n []int
	for _, u := range units {
		for _, e := range u.Epochs {
			x := field(e)
			if e.Epoch < 1 || math.IsNaN(x) || math.IsInf(x, 0) {
				continue
			}
			for len(sum) < e.Epoch {
				sum, n = append(sum, 0), append(n, 0)
			}
			sum[e.Epoch-1] += x
			n[e.Epoch-1]++
		}
	}
	var pts plotter.XYs
	for i := range sum {
		if n[i] > 0 {
			pts = append(pts, plotter.XY{X: float64(i + 1), Y: sum[i] / float64(n[i])})
		}
	}
	return pts
}

// CurvesPlot draws learning curves against the epoch, one colour per
// curve; nil when no curve has a point. The y axis turns logarithmic when
// the values span more than two decades (a loss blowing up before it
// diverges). legendTop puts the legend top right, else bottom right.
func CurvesPlot(title, yLabel string, curves []Curve, legendTop bool) (*plot.Plot, error) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, c := range curves {
		for _, pt := range c.Points {
			lo, hi = min(lo, pt.Y), max(hi, pt.Y)
		}
	}
	if lo > hi {
		return nil, nil
	}
	p := NewPlot(title, "epoch", yLabel)
	if lo > 0 && hi/lo > 100 {
		p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
	} else {
		PadY(p, lo, hi)
	}
	p.X.Tick.Marker = IntegerTicks{}
	p.Legend.Top = legendTop
	p.Legend.TextStyle.Font.Size = vg.Points(10)
	for i, c := range curves {
		if len(c.Points) == 0 {
			continue
		}
		line, dots, err := plotter.NewLinePoints(c.Points)
		if err != nil {
			return nil, err
		}
		line.Color, line.Width, line.Dashes = plotutil.Color(i), vg.Points(1.6), plotutil.Dashes(i/len(plotutil.DefaultColors))
		dots.GlyphStyle = draw.GlyphStyle{Color: plotutil.Color(i), Radius: vg.Points(2.2), Shape: plotutil.Shape(i)}
		p.Add(line, dots)
		p.Legend.Add(c.Label, line, dots)
	}
	return p, nil
}

// PadY sets the y range to [lo, hi] widened by 6% each side (0.005 when
// lo = hi), so no point sits on the frame; nothing when there is no data.
func PadY(p *plot.Plot, lo, hi float64) {
	if lo > hi {
		return
	}
	pad := 0.06 * (hi - lo)
	if pad == 0 {
		pad = 0.005
	}
	p.Y.Min, p.Y.Max = lo-pad, hi+pad
}

// IntegerTicks labels whole epochs only, at most about ten of them.
type IntegerTicks struct{}

func (IntegerTicks) Ticks(lo, hi float64) []plot.Tick {
	step := max(1, int(math.Ceil((hi-lo)/10)))
	var ticks []plot.Tick
	for e := int(math.Ceil(lo)); float64(e) <= hi; e += step {
		ticks = append(ticks, plot.Tick{Value: float64(e), Label: strconv.Itoa(e)})
	}
	return ticks
}

// RenderPNG draws p on a w×h canvas and encodes it as PNG.
func RenderPNG(p *plot.Plot, w, h vg.Length) ([]byte, error) {
	return DrawPNG(w, h, p.Draw)
}

// DrawPNG encodes as PNG what paint draws on a w×h canvas.
func DrawPNG(w, h vg.Length, paint func(draw.Canvas)) ([]byte, error) {
	c := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(plotDPI))
	paint(draw.New(c))
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
