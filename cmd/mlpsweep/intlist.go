package main

import (
	"errors"
	"strconv"
	"strings"
)

// intList is a flag.Value for comma-separated integers such as "128,64".
type intList []int

func (l *intList) String() string {
	parts := make([]string, len(*l))
	for i, v := range *l {
		parts[i] = strconv.Itoa(v)
	}
	return strings.Join(parts, ",")
}

func (l *intList) Set(s string) error {
	var out []int
	for _, part := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil || v < 1 {
			return errors.New("want a list of positive widths such as 128,64")
		}
		out = append(out, v)
	}
	*l = out
	return nil
}
