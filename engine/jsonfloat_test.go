package engine

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func TestJSONNonFiniteIsNull(t *testing.T) {
	s := EpochStats{Epoch: 2, Loss: math.Inf(1), Accuracy: 0.5, ValLoss: math.NaN(), ValAccuracy: math.NaN(), Seconds: 1.5,
		Diagnostics: &Diagnostics{Loss: math.NaN(), GradNorm: []float64{1, math.Inf(1)}, Hidden: []ActivationStats{{Mean: math.NaN(), Std: 2}}}}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"epoch":2,"diagnostics":{"hidden":[{"mean":null,"std":2,"inactive":0,"dead":0}],"loss":null,"grad_norm":[1,null]},` +
		`"loss":null,"accuracy":0.5,"val_loss":null,"val_accuracy":null,"seconds":1.5,"samples_per_second":0}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
	var back EpochStats
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(back.Loss) || back.Accuracy != 0.5 || !math.IsNaN(back.ValLoss) || back.Seconds != 1.5 ||
		!math.IsNaN(back.Diagnostics.Loss) || back.Diagnostics.GradNorm[0] != 1 || !math.IsNaN(back.Diagnostics.GradNorm[1]) ||
		!math.IsNaN(back.Diagnostics.Hidden[0].Mean) || back.Diagnostics.Hidden[0].Std != 2 {
		t.Errorf("round trip gave %+v %+v", back, back.Diagnostics)
	}
	if strings.Contains(string(b), "NaN") {
		t.Error("NaN in JSON")
	}
}
