package main

/*
#include "shim.h"
*/
import "C"

import (
	"os"
	"unsafe"

	"github.com/bitnet-dev/bitnet/cli"
)

//export bitnet_cli_main
func bitnet_cli_main(argc C.int32_t, argv **C.char) (rc C.int32_t) {
	defer guard(&rc)
	if argc < 0 || (argc > 0 && argv == nil) || argc > 1<<16 {
		return fail(invalid("argc = %d, argv = %p", argc, argv))
	}
	var args []string
	for i, p := range unsafe.Slice(argv, int(argc)) {
		if i == 0 {
			continue // the program name
		}
		args = append(args, cString(p))
	}
	return C.int32_t(cli.Run(args, os.Stdout, os.Stderr))
}
