package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

var rowKernels = []kernel{
	{"addBias", "func(x, bias []float32, rows int)", `is AddBias(x[:rows*n], bias), n = len(bias):

	for r := 0; r < rows; r++ { for j := range bias { x[r*n+j] += bias[j] } }`,
		func(s *simd) {
			x, bias, n, rows := slice("x"), slice("bias"), length("bias"), integer("rows")
			var b []reg.VecVirtual
			s.overColumns(x, n, rows, 4,
				func(blk block) {
					b = b[:0]
					blk.each(func(k int) { b = append(b, blk.load(bias, k)) })
				},
				func(blk block, row reg.GPVirtual) {
					blk.each(func(k int) {
						v := blk.load(row, k)
						VADDPS(b[k], v, v)
						blk.store(v, row, k)
					})
				},
				func(block) {})
		}},
	{"sumRows", "func(dy, db []float32, rows int)", `is SumRows(dy[:rows*n], db), n = len(db), in the same order:

	for r := 0; r < rows; r++ { for j := range db { db[j] += dy[r*n+j] } }`,
		func(s *simd) {
			dy, db, n, rows := slice("dy"), slice("db"), length("db"), integer("rows")
			var acc []reg.VecVirtual
			s.overColumns(dy, n, rows, 4,
				func(blk block) {
					acc = acc[:0]
					blk.each(func(k int) { acc = append(acc, blk.load(db, k)) })
				},
				func(blk block, row reg.GPVirtual) {
					blk.each(func(k int) { VADDPS(blk.load(row, k), acc[k], acc[k]) })
				},
				func(blk block) {
					blk.each(func(k int) { blk.store(acc[k], db, k) })
				})
		}},
	{"softmaxRow", "func(z, y []float32, scale float32, dz, probs []float32) (zarg, yarg int, sum, dot, ysum float32)",
		`does the vector passes of one SoftmaxXent row; len(y) ≥ len(z) = n ≥ 1,
dz and probs nil or of length ≥ n (either may alias z), exp within 2 ulp:

	zmax, ymax := max(z...), max(y...)
	zarg, yarg = first j with z[j] == zmax, first j with y[j] == ymax (0 if none)
	for j := range z {
		sum += exp(z[j] - zmax)
		if y[j] != 0 { dot += y[j] * (z[j] - zmax) }
		ysum += y[j]
	}
	for j := range z {
		p := exp(z[j] - zmax) * (1 / sum)
		if probs != nil { probs[j] = p }
		if dz != nil { dz[j] = (p - y[j]) * scale }
	}`,
		softmaxRow},
}

func softmaxRow(s *simd) {
	z, y, n := slice("z"), slice("y"), length("z")
	dz, probs := slice("dz"), slice("probs")

	Comment("Maxima of z and y.")
	zmax, ymax := s.load(negInfinity), s.load(negInfinity)
	s.forEachBlock(n, 1, func(b block) {
		VMAXPS(b.loadOr(z, 0, negInfinity), zmax, zmax)
		VMAXPS(b.loadOr(y, 0, negInfinity), ymax, ymax)
	})
	VBROADCASTSS(s.hmax(zmax).AsX(), zmax)
	VBROADCASTSS(s.hmax(ymax).AsX(), ymax)

	Comment("First indices of the maxima.")
	Store(s.firstEqual(z, n, zmax), Return("zarg"))
	Store(s.firstEqual(y, n, ymax), Return("yarg"))

	Comment("Sum of exponentials, target-weighted shifted logits, target sum.")
	sum, dot, ysum := s.zero(), s.zero(), s.zero()
	s.forEachBlock(n, 1, func(b block) {
		zv, yv := b.load(z, 0), b.load(y, 0)
		VSUBPS(zmax, zv, zv)
		VADDPS(b.live(s.exp(zv)), sum, sum)
		t := s.vec()
		VMULPS(zv, yv, t)
		VADDPS(s.keep(s.cmp(cmpNEQ, yv, s.zero()), t), dot, dot)
		VADDPS(yv, ysum, ysum)
	})
	sumX := s.hsum(sum)
	returnFloat(sumX, "sum")
	returnFloat(s.hsum(dot), "dot")
	returnFloat(s.hsum(ysum), "ysum")

	done := label("done")
	both := GP64()
	MOVQ(dz, both)
	ORQ(probs, both)
	JZ(LabelRef(done))

	Comment("Probabilities and gradient.")
	inv := XMM()
	VMOVSS(one, inv)
	VDIVSS(sumX.AsX(), inv, inv)
	invV, scale := s.vec(), s.broadcast("scale")
	VBROADCASTSS(inv, invV)
	s.forEachBlock(n, 1, func(b block) {
		zv, yv := b.load(z, 0), b.load(y, 0)
		VSUBPS(zmax, zv, zv)
		p := s.exp(zv)
		VMULPS(invV, p, p)
		skipProbs, skipDz := label("noprobs"), label("nodz")
		TESTQ(probs, probs)
		JZ(LabelRef(skipProbs))
		b.store(p, probs, 0)
		Label(skipProbs)
		TESTQ(dz, dz)
		JZ(LabelRef(skipDz))
		VSUBPS(yv, p, p)
		VMULPS(scale, p, p)
		b.store(p, dz, 0)
		Label(skipDz)
	})
	Label(done)
}

// firstEqual returns the first index i < n with p[i] == target[0] (all lanes
// of target equal), or 0 if there is none.
func (s *simd) firstEqual(p, n reg.GPVirtual, target reg.VecVirtual) reg.GPVirtual {
	index := GP64()
	XORQ(index, index)
	found := label("found")
	s.forEachBlock(n, 1, func(b block) {
		m := s.cmp(cmpEQ, b.load(p, 0), target)
		if b.tail != nil {
			s.and(m, b.tail)
		}
		bits := s.bits(m)
		next := label("next")
		TESTL(bits, bits)
		JZ(LabelRef(next))
		TZCNTL(bits, index.As32())
		ADDQ(b.index, index)
		JMP(LabelRef(found))
		Label(next)
	})
	Label(found)
	return index
}
