//go:build amd64 && !purego

package kernels

import (
	"bufio"
	"fmt"
	"math"
	"math/big"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// An interpreter for the Go assembly the avo generator emits (the
// instructions of microkernel_gen_amd64.s, pack_gen_amd64.s and
// gather_gen_amd64.s, nothing more), so the AVX-512 kernels are checked on
// CPUs without AVX-512. It reads the
// committed .s files, so it checks exactly what ships. Memory is only the
// slices passed in, at made-up addresses: any access outside them (or to a
// masked-out lane) fails the test. TestEmulatorMatchesHardware checks the
// interpreter itself against the AVX2 code run natively, bit for bit.

// emuFunc is one parsed TEXT block.
type emuFunc struct {
	name   string
	insts  []emuInst
	labels map[string]int
	locals int // bytes of the frame's locals ($locals-args), SP-relative
}

type emuInst struct {
	op   string
	args []emuArg
	text string
}

type emuArgKind uint8

const (
	argGP emuArgKind = iota
	argVec
	argK
	argImm
	argMem
	argLabel
)

type emuArg struct {
	kind  emuArgKind
	reg   int    // register number
	lanes int    // vector width: 4 (X), 8 (Y), 16 (Z)
	imm   int64  // immediate, or memory displacement
	name  string // FP argument or SB symbol of a memory operand, or label
	frame bool   // memory operand on FP
	base  int    // memory base register, -1 for SB
	index int    // memory index register, -1 for none
	scale int64
}

var gpNames = map[string]int{"AX": 0, "CX": 1, "DX": 2, "BX": 3, "SP": 4, "BP": 5, "SI": 6, "DI": 7,
	"R8": 8, "R9": 9, "R10": 10, "R11": 11, "R12": 12, "R13": 13, "R14": 14, "R15": 15}

var memRE = regexp.MustCompile(`^([^()]*)\((\w+)\)(?:\((\w+)\*(\d)\))?$`)

func parseArg(s string) (emuArg, error) {
	switch {
	case strings.HasPrefix(s, "$"):
		v, err := strconv.ParseInt(s[1:], 0, 64)
		return emuArg{kind: argImm, imm: v}, err
	case gpNames[s] != 0 || s == "AX":
		return emuArg{kind: argGP, reg: gpNames[s]}, nil
	case len(s) >= 2 && (s[0] == 'X' || s[0] == 'Y' || s[0] == 'Z') && s[1] >= '0' && s[1] <= '9':
		n, err := strconv.Atoi(s[1:])
		return emuArg{kind: argVec, reg: n, lanes: map[byte]int{'X': 4, 'Y': 8, 'Z': 16}[s[0]]}, err
	case len(s) == 2 && s[0] == 'K':
		return emuArg{kind: argK, reg: int(s[1] - '0')}, nil
	}
	if m := memRE.FindStringSubmatch(s); m != nil {
		a := emuArg{kind: argMem, base: -1, index: -1}
		pre := m[1]
		switch m[2] {
		case "FP":
			a.frame = true
			a.name = pre[:strings.IndexAny(pre, "+-")]
		case "SB":
			a.name = pre[:strings.Index(pre, "<>")]
		default:
			a.base = gpNames[m[2]]
			if pre != "" {
				v, err := strconv.ParseInt(pre, 0, 64)
				if err != nil {
					return a, err
				}
				a.imm = v
			}
		}
		if m[3] != "" {
			a.index = gpNames[m[3]]
			a.scale, _ = strconv.ParseInt(m[4], 10, 64)
		}
		return a, nil
	}
	return emuArg{kind: argLabel, name: s}, nil
}

// emuProgram holds the parsed functions and data of the asm files.
type emuProgram struct {
	funcs map[string]*emuFunc
	data  map[string][]float32
}

var (
	emuOnce sync.Once
	emuProg *emuProgram
	emuErr  error
)

// loadEmu parses the generated asm files once.
func loadEmu(t testing.TB) *emuProgram {
	emuOnce.Do(func() {
		emuProg = &emuProgram{funcs: map[string]*emuFunc{}, data: map[string][]float32{}}
		for _, file := range []string{"microkernel_gen_amd64.s", "pack_gen_amd64.s", "gather_gen_amd64.s"} {
			if emuErr = emuProg.parse(file); emuErr != nil {
				return
			}
		}
	})
	if emuErr != nil {
		t.Fatal(emuErr)
	}
	return emuProg
}

var dataRE = regexp.MustCompile(`^DATA (\w+)<>\+(\d+)\(SB\)/4, \$(\w+)$`)

func (p *emuProgram) parse(file string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	var fn *emuFunc
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if i := strings.Index(line, "//"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "GLOBL"):
		case strings.HasPrefix(line, "DATA"):
			m := dataRE.FindStringSubmatch(line)
			if m == nil {
				return fmt.Errorf("%s: cannot parse %q", file, line)
			}
			off, _ := strconv.Atoi(m[2])
			v, _ := strconv.ParseUint(m[3], 0, 32)
			d := p.data[m[1]]
			for len(d) <= off/4 {
				d = append(d, 0)
			}
			d[off/4] = math.Float32frombits(uint32(v))
			p.data[m[1]] = d
		case strings.HasPrefix(line, "TEXT"):
			name := line[len("TEXT ·"):strings.Index(line, "(SB)")]
			fn = &emuFunc{name: name, labels: map[string]int{}}
			if i := strings.LastIndex(line, "$"); i >= 0 {
				fmt.Sscanf(line[i+1:], "%d-", &fn.locals)
			}
			p.funcs[name] = fn
		case strings.HasSuffix(line, ":"):
			fn.labels[strings.TrimSuffix(line, ":")] = len(fn.insts)
		default:
			fields := strings.Fields(line)
			inst := emuInst{op: fields[0], text: line}
			if rest := strings.TrimSpace(line[len(fields[0]):]); rest != "" {
				for _, s := range strings.Split(rest, ",") {
					a, err := parseArg(strings.TrimSpace(s))
					if err != nil {
						return fmt.Errorf("%s: %q: %v", file, line, err)
					}
					inst.args = append(inst.args, a)
				}
			}
			fn.insts = append(fn.insts, inst)
		}
	}
	return sc.Err()
}

// emuCPU is the machine state of one call.
type emuCPU struct {
	gp      [16]uint64
	vec     [32][16]uint32
	k       [8]uint16
	zf, le  bool
	frame   map[string]uint64 // arguments by name (slices as name_base)
	regions [][]float32       // memory: region r at address (r+1)<<40
	bytes   [][]uint8         // byte regions: region r at (emuByteRegions+r+1)<<40
	syms    map[string]int    // region of each data symbol
}

const (
	emuRegionShift = 40
	emuByteRegions = 1 << 16 // byte regions' numbers start here
)

func (c *emuCPU) addRegion(x []float32) uint64 {
	c.regions = append(c.regions, x)
	return uint64(len(c.regions)) << emuRegionShift
}

func (c *emuCPU) addBytes(x []uint8) uint64 {
	c.bytes = append(c.bytes, x)
	return uint64(emuByteRegions+len(c.bytes)) << emuRegionShift
}

// byteAt returns the byte at addr, failing on any access outside the byte
// regions.
func (c *emuCPU) byteAt(addr uint64) *uint8 {
	r, off := int(addr>>emuRegionShift)-1-emuByteRegions, addr&(1<<emuRegionShift-1)
	if r < 0 || r >= len(c.bytes) || off >= uint64(len(c.bytes[r])) {
		panic(fmt.Sprintf("emulator: byte access at region %d offset %d outside the slices", r, int64(off)))
	}
	return &c.bytes[r][off]
}

// cell returns the float at addr, failing on any access outside the regions.
func (c *emuCPU) cell(addr uint64) *float32 {
	r, off := int(addr>>emuRegionShift)-1, addr&(1<<emuRegionShift-1)
	if r < 0 || r >= len(c.regions) || off%4 != 0 || off/4 >= uint64(len(c.regions[r])) {
		panic(fmt.Sprintf("emulator: access at region %d offset %d outside the slices", r, int64(off)))
	}
	return &c.regions[r][off/4]
}

func (c *emuCPU) addr(a emuArg) uint64 {
	if a.base < 0 {
		return uint64(c.syms[a.name]+1)<<emuRegionShift + uint64(a.imm)
	}
	x := c.gp[a.base] + uint64(a.imm)
	if a.index >= 0 {
		x += c.gp[a.index] * uint64(a.scale)
	}
	return x
}

func (c *emuCPU) frameArg(a emuArg) uint64 {
	v, ok := c.frame[a.name]
	if !ok {
		panic("emulator: no argument " + a.name)
	}
	return v
}

// scalar reads a GP register, an immediate or a frame argument.
func (c *emuCPU) scalar(a emuArg) uint64 {
	switch {
	case a.kind == argGP:
		return c.gp[a.reg]
	case a.kind == argImm:
		return uint64(a.imm)
	case a.kind == argMem && a.frame:
		return c.frameArg(a)
	case a.kind == argMem: // a 64-bit integer in memory: two cells, low first
		at := c.addr(a)
		return uint64(math.Float32bits(*c.cell(at))) | uint64(math.Float32bits(*c.cell(at + 4)))<<32
	}
	panic("emulator: bad scalar operand")
}

// load reads lanes of a vector or memory operand; mask selects lanes to read
// from memory (the others are 0).
func (c *emuCPU) load(a emuArg, lanes int, mask func(int) bool) [16]uint32 {
	var v [16]uint32
	if a.kind == argVec {
		return c.vec[a.reg]
	}
	for i := 0; i < lanes; i++ {
		if mask == nil || mask(i) {
			v[i] = math.Float32bits(*c.cell(c.addr(a) + 4*uint64(i)))
		}
	}
	return v
}

// setVec writes dst; VEX (non-Z) writes clear the lanes above the width.
func (c *emuCPU) setVec(dst emuArg, v [16]uint32) {
	for i := dst.lanes; i < 16; i++ {
		v[i] = 0
	}
	c.vec[dst.reg] = v
}

func f32(x uint32) float32 { return math.Float32frombits(x) }
func u32(x float32) uint32 { return math.Float32bits(x) }

// fma32 is the float32 fused multiply-add, rounded once: float64 holds the
// product exactly; only a sum landing on a float32 rounding midpoint needs
// the exact path.
func fma32(a, b, c float32) float32 {
	r := math.FMA(float64(a), float64(b), float64(c))
	if bits := math.Float64bits(r); bits&(1<<29-1) != 1<<28 {
		return float32(r)
	}
	x := new(big.Float).SetPrec(200).SetFloat64(float64(a))
	x.Mul(x, new(big.Float).SetFloat64(float64(b)))
	x.Add(x, new(big.Float).SetFloat64(float64(c)))
	f, _ := x.Float32()
	return f
}

// run interprets fn until RET.
func (c *emuCPU) run(fn *emuFunc) {
	if fn.locals > 0 {
		c.gp[gpNames["SP"]] = c.addRegion(make([]float32, fn.locals/4))
	}
	for pc := 0; pc < len(fn.insts); {
		in := &fn.insts[pc]
		pc++
		a := in.args
		jump := func(cond bool) {
			if cond {
				pc = fn.labels[a[0].name]
			}
		}
		switch in.op {
		case "MOVQ":
			c.gp[a[1].reg] = c.scalar(a[0])
		case "MOVL":
			c.gp[a[1].reg] = uint64(uint32(c.scalar(a[0])))
		case "LEAQ":
			c.gp[a[1].reg] = c.addr(a[0])
		case "IMUL3Q":
			c.gp[a[2].reg] = c.scalar(a[1]) * uint64(a[0].imm)
		case "SHLQ":
			c.gp[a[1].reg] <<= uint(a[0].imm)
		case "SHRQ":
			c.gp[a[1].reg] >>= uint(a[0].imm)
			c.zf = c.gp[a[1].reg] == 0
		case "SHRL":
			c.gp[a[1].reg] = uint64(uint32(c.gp[a[1].reg]) >> uint(a[0].imm))
			c.zf = c.gp[a[1].reg] == 0
		case "ANDL":
			c.gp[a[1].reg] = uint64(uint32(c.gp[a[1].reg]) & uint32(c.scalar(a[0])))
			c.zf = c.gp[a[1].reg] == 0
		case "ANDQ":
			c.gp[a[1].reg] &= c.scalar(a[0])
			c.zf = c.gp[a[1].reg] == 0
		case "ADDQ":
			c.gp[a[1].reg] += c.scalar(a[0])
			c.zf = c.gp[a[1].reg] == 0
		case "SUBQ":
			c.gp[a[1].reg] -= c.scalar(a[0])
			c.zf = c.gp[a[1].reg] == 0
		case "DECQ":
			c.gp[a[0].reg]--
			c.zf = c.gp[a[0].reg] == 0
		case "TESTQ":
			c.zf = c.scalar(a[0])&c.scalar(a[1]) == 0
		case "CMPQ":
			x, y := int64(c.scalar(a[0])), int64(c.scalar(a[1]))
			c.zf, c.le = x == y, x <= y
		case "JMP":
			jump(true)
		case "JZ", "JE":
			jump(c.zf)
		case "JNZ", "JNE":
			jump(!c.zf)
		case "JLE":
			jump(c.le)
		case "BZHIL":
			n, x := c.gp[a[0].reg]&0xff, uint32(c.gp[a[1].reg])
			if n < 32 {
				x &= 1<<n - 1
			}
			c.gp[a[2].reg] = uint64(x)
		case "KMOVW":
			c.k[a[1].reg] = uint16(c.gp[a[0].reg])
		case "PREFETCHT0", "PREFETCHT1", "PREFETCHT2":
		case "RET":
			return
		case "VZEROUPPER":
			for r := range c.vec {
				clear(c.vec[r][4:])
			}
		case "VXORPS":
			x, y := c.load(a[0], a[2].lanes, nil), c.load(a[1], a[2].lanes, nil)
			for i := range x {
				x[i] ^= y[i]
			}
			c.setVec(a[2], x)
		case "VMOVUPS", "VMOVDQU":
			switch {
			case len(a) == 2 && a[1].kind == argVec: // load
				c.setVec(a[1], c.load(a[0], a[1].lanes, nil))
			case len(a) == 2: // store
				v := c.vec[a[0].reg]
				for i := 0; i < a[0].lanes; i++ {
					*c.cell(c.addr(a[1]) + 4*uint64(i)) = f32(v[i])
				}
			case a[0].kind == argMem: // merge-masked load: mem, K, Z (the other lanes kept)
				k, d := c.k[a[1].reg], c.vec[a[2].reg]
				v := c.load(a[0], a[2].lanes, func(i int) bool { return k>>i&1 != 0 })
				for i := 0; i < a[2].lanes; i++ {
					if k>>i&1 != 0 {
						d[i] = v[i]
					}
				}
				c.setVec(a[2], d)
			default: // masked store: Z, K, mem
				v, k := c.vec[a[0].reg], c.k[a[1].reg]
				for i := 0; i < a[0].lanes; i++ {
					if k>>i&1 != 0 {
						*c.cell(c.addr(a[2]) + 4*uint64(i)) = f32(v[i])
					}
				}
			}
		case "VMOVUPS.Z": // zero-masked load: mem, K, Z
			k := c.k[a[1].reg]
			c.setVec(a[2], c.load(a[0], a[2].lanes, func(i int) bool { return k>>i&1 != 0 }))
		case "VMOVQ": // 64 bits between memory and the low half of an XMM
			if a[0].kind == argMem {
				c.setVec(a[1], c.load(a[0], 2, nil))
			} else {
				v := c.vec[a[0].reg]
				*c.cell(c.addr(a[1])) = f32(v[0])
				*c.cell(c.addr(a[1]) + 4) = f32(v[1])
			}
		case "VMOVSS": // store the low float of an XMM
			*c.cell(c.addr(a[1])) = f32(c.vec[a[0].reg][0])
		case "VEXTRACTF128": // $1, Y, X: the upper half
			v := c.vec[a[1].reg]
			var d [16]uint32
			copy(d[:4], v[4*a[0].imm:4*a[0].imm+4])
			c.setVec(a[2], d)
		case "VEXTRACTF32X4": // $l, Z, mem: 128-bit lane l stored
			v := c.vec[a[1].reg]
			for i := 0; i < 4; i++ {
				*c.cell(c.addr(a[2]) + 4*uint64(i)) = f32(v[4*int(a[0].imm)+i])
			}
		case "VMASKMOVPS":
			if a[0].kind == argMem { // load: mem, mask, dst
				m := c.vec[a[1].reg]
				c.setVec(a[2], c.load(a[0], a[2].lanes, func(i int) bool { return m[i]>>31 != 0 }))
			} else { // store: src, mask, mem
				v, m := c.vec[a[0].reg], c.vec[a[1].reg]
				for i := 0; i < a[0].lanes; i++ {
					if m[i]>>31 != 0 {
						*c.cell(c.addr(a[2]) + 4*uint64(i)) = f32(v[i])
					}
				}
			}
		case "VBROADCASTSS":
			var x uint32
			if a[0].frame {
				x = uint32(c.frameArg(a[0]))
			} else {
				x = math.Float32bits(*c.cell(c.addr(a[0])))
			}
			var v [16]uint32
			for i := range v {
				v[i] = x
			}
			c.setVec(a[1], v)
		case "VPMOVZXBD", "VPMOVZXBD.Z": // bytes widened to 32-bit lanes: mem, dst; mem, K, Z (merge or .Z zero)
			dst, mask := a[len(a)-1], func(int) bool { return true }
			d := c.vec[dst.reg]
			if len(a) == 3 {
				k := c.k[a[1].reg]
				mask = func(i int) bool { return k>>i&1 != 0 }
			}
			for i := 0; i < dst.lanes; i++ {
				switch {
				case mask(i):
					d[i] = uint32(*c.byteAt(c.addr(a[0]) + uint64(i)))
				case len(a) == 2 || in.op == "VPMOVZXBD.Z":
					d[i] = 0
				}
			}
			c.setVec(dst, d)
		case "VCVTDQ2PS": // int32 lanes to float32
			x := c.load(a[0], a[1].lanes, nil)
			var d [16]uint32
			for i := 0; i < a[1].lanes; i++ {
				d[i] = u32(float32(int32(x[i])))
			}
			c.setVec(a[1], d)
		case "VDIVPS": // dst = src1 / src2
			x, y := c.load(a[0], a[2].lanes, nil), c.vec[a[1].reg]
			var d [16]uint32
			for i := 0; i < a[2].lanes; i++ {
				d[i] = u32(f32(y[i]) / f32(x[i]))
			}
			c.setVec(a[2], d)
		case "VFMADD231PS": // dst += src1·src2
			x, y, d := c.load(a[0], a[2].lanes, nil), c.vec[a[1].reg], c.vec[a[2].reg]
			for i := 0; i < a[2].lanes; i++ {
				d[i] = u32(fma32(f32(y[i]), f32(x[i]), f32(d[i])))
			}
			c.setVec(a[2], d)
		case "VFNMADD231PS": // dst −= src1·src2
			x, y, d := c.load(a[0], a[2].lanes, nil), c.vec[a[1].reg], c.vec[a[2].reg]
			for i := 0; i < a[2].lanes; i++ {
				d[i] = u32(fma32(-f32(y[i]), f32(x[i]), f32(d[i])))
			}
			c.setVec(a[2], d)
		case "VFMADD132PS": // dst = dst·src1 + src2 (Go operand order: src1, src2, dst)
			x, y, d := c.load(a[0], a[2].lanes, nil), c.vec[a[1].reg], c.vec[a[2].reg]
			for i := 0; i < a[2].lanes; i++ {
				d[i] = u32(fma32(f32(d[i]), f32(x[i]), f32(y[i])))
			}
			c.setVec(a[2], d)
		case "VFMADD231PS.BCST": // dst += src1·broadcast(mem)
			x, y, d := *c.cell(c.addr(a[0])), c.vec[a[1].reg], c.vec[a[2].reg]
			for i := 0; i < a[2].lanes; i++ {
				d[i] = u32(fma32(f32(y[i]), x, f32(d[i])))
			}
			c.setVec(a[2], d)
		case "VMULPS":
			x, y := c.load(a[0], a[2].lanes, nil), c.vec[a[1].reg]
			var d [16]uint32
			for i := 0; i < a[2].lanes; i++ {
				d[i] = u32(f32(y[i]) * f32(x[i]))
			}
			c.setVec(a[2], d)
		case "VUNPCKLPS", "VUNPCKHPS": // per 128-bit lane: s1[h] s2[h] s1[h+1] s2[h+1]
			s2, s1 := c.load(a[0], a[2].lanes, nil), c.vec[a[1].reg]
			h := 0
			if in.op == "VUNPCKHPS" {
				h = 2
			}
			var d [16]uint32
			for l := 0; l < a[2].lanes; l += 4 {
				d[l], d[l+1], d[l+2], d[l+3] = s1[l+h], s2[l+h], s1[l+h+1], s2[l+h+1]
			}
			c.setVec(a[2], d)
		case "VSHUFPS": // per 128-bit lane: s1[imm₀] s1[imm₁] s2[imm₂] s2[imm₃]
			imm, s2, s1 := a[0].imm, c.load(a[1], a[3].lanes, nil), c.vec[a[2].reg]
			var d [16]uint32
			for l := 0; l < a[3].lanes; l += 4 {
				d[l], d[l+1] = s1[l+int(imm&3)], s1[l+int(imm>>2&3)]
				d[l+2], d[l+3] = s2[l+int(imm>>4&3)], s2[l+int(imm>>6&3)]
			}
			c.setVec(a[3], d)
		case "VSHUFF32X4": // 128-bit lanes: s1[imm₀] s1[imm₁] s2[imm₂] s2[imm₃]
			imm, s2, s1 := a[0].imm, c.load(a[1], 16, nil), c.vec[a[2].reg]
			var d [16]uint32
			for l := 0; l < 4; l++ {
				src := s1
				if l >= 2 {
					src = s2
				}
				sel := int(imm >> (2 * l) & 3)
				copy(d[4*l:4*l+4], src[4*sel:4*sel+4])
			}
			c.setVec(a[3], d)
		case "VPERM2F128": // each 128-bit half: imm selects s1.lo, s1.hi, s2.lo, s2.hi
			imm, s2, s1 := a[0].imm, c.load(a[1], 8, nil), c.vec[a[2].reg]
			var d [16]uint32
			for h := 0; h < 2; h++ {
				sel := imm >> (4 * h)
				src := s1
				if sel&2 != 0 {
					src = s2
				}
				if sel&8 == 0 {
					copy(d[4*h:4*h+4], src[4*(sel&1):4*(sel&1)+4])
				}
			}
			c.setVec(a[3], d)
		default:
			panic("emulator: unsupported instruction " + in.text)
		}
	}
	panic("emulator: fell off the end of " + fn.name)
}

// newEmuCPU prepares a call: the data symbols as read-only regions.
func (p *emuProgram) newCPU() *emuCPU {
	c := &emuCPU{frame: map[string]uint64{}, syms: map[string]int{}}
	for name, d := range p.data {
		c.syms[name] = len(c.regions)
		c.addRegion(append([]float32(nil), d...))
	}
	return c
}

// emuMicroKernel returns the named micro-kernel, interpreted.
func emuMicroKernel(t testing.TB, name string) microKernel {
	p := loadEmu(t)
	fn := p.funcs[name]
	if fn == nil {
		t.Fatalf("no function %s in the asm", name)
	}
	return func(k int, alpha float32, a []float32, rsA, csA, psA int, b []float32, csB int, beta float32, c []float32, ldc, m, nr int) {
		cpu := p.newCPU()
		cpu.frame = map[string]uint64{
			"k": uint64(k), "alpha": uint64(u32(alpha)), "rsA": uint64(rsA), "csA": uint64(csA), "psA": uint64(psA),
			"csB": uint64(csB), "beta": uint64(u32(beta)), "ldc": uint64(ldc), "m": uint64(m), "nr": uint64(nr),
			"a_base": cpu.addRegion(a), "b_base": cpu.addRegion(b), "c_base": cpu.addRegion(c),
		}
		cpu.run(fn)
	}
}

// emuNarrowKernel returns the named narrow kernel, interpreted.
func emuNarrowKernel(t testing.TB, name string) narrowKernel {
	p := loadEmu(t)
	fn := p.funcs[name]
	if fn == nil {
		t.Fatalf("no function %s in the asm", name)
	}
	return func(k int, alpha float32, a []float32, csA, psA int, b []float32, csB int, beta float32, c []float32, ldc, m int, tile *[512]float32) {
		cpu := p.newCPU()
		cpu.frame = map[string]uint64{
			"k": uint64(k), "alpha": uint64(u32(alpha)), "csA": uint64(csA), "psA": uint64(psA),
			"csB": uint64(csB), "beta": uint64(u32(beta)), "ldc": uint64(ldc), "m": uint64(m),
			"a_base": cpu.addRegion(a), "b_base": cpu.addRegion(b), "c_base": cpu.addRegion(c), "tile": cpu.addRegion(tile[:]),
		}
		cpu.run(fn)
	}
}

// emuPacker returns the named packer, interpreted.
func emuPacker(t testing.TB, name string) func(panel, src []float32, ld, cols int) {
	p := loadEmu(t)
	fn := p.funcs[name]
	return func(panel, src []float32, ld, cols int) {
		cpu := p.newCPU()
		cpu.frame = map[string]uint64{"ld": uint64(ld), "cols": uint64(cols), "panels": 1,
			"panel_base": cpu.addRegion(panel), "src_base": cpu.addRegion(src)}
		cpu.frame["dst_base"] = cpu.frame["panel_base"]
		cpu.run(fn)
	}
}

// emuMaskedPacker returns the named partial-panel packer, interpreted.
func emuMaskedPacker(t testing.TB, name string) func(panel, src []float32, ld, cols, h int) {
	p := loadEmu(t)
	fn := p.funcs[name]
	return func(panel, src []float32, ld, cols, h int) {
		cpu := p.newCPU()
		cpu.frame = map[string]uint64{"ld": uint64(ld), "cols": uint64(cols), "h": uint64(h),
			"panel_base": cpu.addRegion(panel), "src_base": cpu.addRegion(src)}
		cpu.run(fn)
	}
}

// emuInts lays out x as the emulator's memory holds a []int: each value as
// two cells, low 32 bits first.
func emuInts(x []int) []float32 {
	cells := make([]float32, 2*len(x))
	for i, v := range x {
		cells[2*i], cells[2*i+1] = math.Float32frombits(uint32(v)), math.Float32frombits(uint32(uint64(v)>>32))
	}
	return cells
}

// emuGatherTranspose returns the named packTransposeGather packer, interpreted.
func emuGatherTranspose(t testing.TB, name string) func(panel, src []float32, offs []int, cols int) {
	p := loadEmu(t)
	fn := p.funcs[name]
	if fn == nil {
		t.Fatalf("no function %s in the asm", name)
	}
	return func(panel, src []float32, offs []int, cols int) {
		cpu := p.newCPU()
		cpu.frame = map[string]uint64{"cols": uint64(cols), "offs_len": uint64(len(offs)),
			"panel_base": cpu.addRegion(panel), "src_base": cpu.addRegion(src), "offs_base": cpu.addRegion(emuInts(offs))}
		cpu.run(fn)
	}
}

// emuGatherCopy returns the named packCopyGather packer, interpreted.
func emuGatherCopy(t testing.TB, name string) func(dst, src []float32, offs []int, cols, panels int) {
	p := loadEmu(t)
	fn := p.funcs[name]
	if fn == nil {
		t.Fatalf("no function %s in the asm", name)
	}
	return func(dst, src []float32, offs []int, cols, panels int) {
		cpu := p.newCPU()
		cpu.frame = map[string]uint64{"cols": uint64(cols), "panels": uint64(panels), "offs_len": uint64(len(offs)),
			"dst_base": cpu.addRegion(dst), "src_base": cpu.addRegion(src), "offs_base": cpu.addRegion(emuInts(offs))}
		cpu.run(fn)
	}
}

// emuCopyPanels returns the named packCopy packer, interpreted, for any
// number of panels.
func emuCopyPanels(t testing.TB, name string) func(dst, src []float32, ld, cols, panels int) {
	p := loadEmu(t)
	fn := p.funcs[name]
	if fn == nil {
		t.Fatalf("no function %s in the asm", name)
	}
	return func(dst, src []float32, ld, cols, panels int) {
		cpu := p.newCPU()
		cpu.frame = map[string]uint64{"ld": uint64(ld), "cols": uint64(cols), "panels": uint64(panels),
			"dst_base": cpu.addRegion(dst), "src_base": cpu.addRegion(src)}
		cpu.run(fn)
	}
}

// emuGatherTransposeBytes returns the named packTransposeGatherBytes
// packer, interpreted.
func emuGatherTransposeBytes(t testing.TB, name string) func(panel []float32, src []uint8, offs []int, cols int, div float32) {
	p := loadEmu(t)
	fn := p.funcs[name]
	if fn == nil {
		t.Fatalf("no function %s in the asm", name)
	}
	return func(panel []float32, src []uint8, offs []int, cols int, div float32) {
		cpu := p.newCPU()
		cpu.frame = map[string]uint64{"cols": uint64(cols), "offs_len": uint64(len(offs)), "div": uint64(u32(div)),
			"panel_base": cpu.addRegion(panel), "src_base": cpu.addBytes(src), "offs_base": cpu.addRegion(emuInts(offs))}
		cpu.run(fn)
	}
}

// emuGatherCopyBytes returns the named packCopyGatherBytes packer,
// interpreted.
func emuGatherCopyBytes(t testing.TB, name string) func(dst []float32, src []uint8, offs []int, cols, panels int, div float32) {
	p := loadEmu(t)
	fn := p.funcs[name]
	if fn == nil {
		t.Fatalf("no function %s in the asm", name)
	}
	return func(dst []float32, src []uint8, offs []int, cols, panels int, div float32) {
		cpu := p.newCPU()
		cpu.frame = map[string]uint64{"cols": uint64(cols), "panels": uint64(panels), "offs_len": uint64(len(offs)), "div": uint64(u32(div)),
			"dst_base": cpu.addRegion(dst), "src_base": cpu.addBytes(src), "offs_base": cpu.addRegion(emuInts(offs))}
		cpu.run(fn)
	}
}
