package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// TestEachCommandInItsFile: a function that two commands use does not live
// in the file of one of them (sweep.go, sweep_queue.go, train.go, …) but
// in a file named for what it does (storeflag.go, progress.go, …), and a
// command's file holds nothing only another command uses. It reads the
// package's source: a function's commands are those whose run function
// reaches it through calls, method selectors (any method of that name) and
// type references (every method of the type, for methods only a library
// calls, such as flag.Value's Set).
func TestEachCommandInItsFile(t *testing.T) {
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	type fn struct {
		file string
		decl *ast.FuncDecl
	}
	funcs := map[string]fn{}             // "name" or "Type.name"
	methods := map[string][]string{}     // method name → "Type.name"
	typeMethods := map[string][]string{} // type → "Type.name"
	entry := map[string]string{}         // run function → command
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok {
				continue
			}
			key := fd.Name.Name
			if fd.Recv != nil {
				recv := fd.Recv.List[0].Type
				if s, ok := recv.(*ast.StarExpr); ok {
					recv = s.X
				}
				typ := recv.(*ast.Ident).Name
				key = typ + "." + key
				methods[fd.Name.Name] = append(methods[fd.Name.Name], key)
				typeMethods[typ] = append(typeMethods[typ], key)
			}
			if key != "init" {
				funcs[key] = fn{path, fd}
			}
		}
		// register(command{name: "X", …, run: runX})
		ast.Inspect(f, func(n ast.Node) bool {
			cl, ok := n.(*ast.CompositeLit)
			if !ok {
				return true
			}
			if id, ok := cl.Type.(*ast.Ident); !ok || id.Name != "command" {
				return true
			}
			var name, run string
			for _, e := range cl.Elts {
				kv := e.(*ast.KeyValueExpr)
				switch kv.Key.(*ast.Ident).Name {
				case "name":
					name, _ = strconv.Unquote(kv.Value.(*ast.BasicLit).Value)
				case "run":
					run = kv.Value.(*ast.Ident).Name
				}
			}
			entry[run] = name
			return true
		})
	}
	if len(entry) < 5 {
		t.Fatalf("found %d commands: %v", len(entry), entry)
	}
	uses := func(key string) []string {
		var out []string
		sel := map[*ast.Ident]bool{} // x.Name: a method or field, not a function
		decl := funcs[key].decl
		ast.Inspect(&ast.FuncLit{Type: decl.Type, Body: decl.Body}, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.SelectorExpr:
				out = append(out, methods[n.Sel.Name]...)
				sel[n.Sel] = true
			case *ast.KeyValueExpr:
				if id, ok := n.Key.(*ast.Ident); ok {
					sel[id] = true // a field's name in a composite literal
				}
			case *ast.Ident:
				if sel[n] || n.Obj != nil && n.Obj.Kind != ast.Fun && n.Obj.Kind != ast.Typ {
					break // a field, or a local name (the parser resolves those)
				}
				if _, ok := funcs[n.Name]; ok {
					out = append(out, n.Name)
				}
				out = append(out, typeMethods[n.Name]...)
			}
			return true
		})
		return out
	}
	usedBy := map[string][]string{} // function → commands that reach it
	for run, cmd := range entry {
		seen := map[string]bool{run: true}
		for todo := []string{run}; len(todo) > 0; {
			k := todo[len(todo)-1]
			todo = todo[:len(todo)-1]
			usedBy[k] = append(usedBy[k], cmd)
			for _, u := range uses(k) {
				if !seen[u] {
					seen[u] = true
					todo = append(todo, u)
				}
			}
		}
	}
	var cmds []string
	for _, c := range entry {
		cmds = append(cmds, c)
	}
	// A file is a command's when its name begins with the command's name
	// (train.go, trainmodel.go, sweep_queue.go); the longest name wins.
	sort.Slice(cmds, func(i, j int) bool { return len(cmds[i]) > len(cmds[j]) })
	for key, f := range funcs {
		base := strings.TrimSuffix(f.file, ".go")
		i := slices.IndexFunc(cmds, func(c string) bool { return strings.HasPrefix(base, c) })
		if i < 0 {
			continue
		}
		for _, c := range usedBy[key] {
			if c != cmds[i] {
				slices.Sort(usedBy[key])
				t.Errorf("%s in %s (command %s's file) is used by %s: move it to a file named for what it does", key, f.file, cmds[i], strings.Join(usedBy[key], ", "))
				break
			}
		}
	}
}
