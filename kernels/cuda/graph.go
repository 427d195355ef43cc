package cuda

import (
	"fmt"

	"github.com/bitnet-dev/bitnet/errs"
)

// Graph is a captured sequence of a stream's work, instantiated so that it
// replays with one launch. Kernel arguments are fixed at capture: values
// that change between replays live in device memory, written before each
// launch.
type Graph struct {
	ctx  *Context
	exec uintptr
}

// BeginCapture starts recording the stream's work instead of running it.
// Until EndCapture, the context's thread (every call of the Context, from
// any goroutine) must make no call that is unsafe during a capture, such
// as Alloc, Free, Upload, Download, Memset or UploadAsync from Go memory:
// the capture would fail. Doing the whole capture inside one Context.Do
// keeps other goroutines' calls out of it.
func (s *Stream) BeginCapture() error { return s.do(drvStreamBeginCapture) }

// EndCapture ends the recording begun by BeginCapture and instantiates it.
// If the capture failed (an unsupported call during it), the error says
// so and the stream is back to normal.
func (s *Stream) EndCapture() (*Graph, error) {
	g := &Graph{ctx: s.ctx}
	err := s.do(func(h uintptr) error {
		graph, err := drvStreamEndCapture(h)
		if err != nil {
			if graph != 0 {
				_ = drvGraphDestroy(graph)
			}
			return fmt.Errorf("cuda: end stream capture: %w", err)
		}
		if graph == 0 {
			return fmt.Errorf("cuda: stream capture produced no graph: %w", errs.ErrDevice)
		}
		exec, err := drvGraphInstantiate(graph)
		if e := drvGraphDestroy(graph); err == nil && e != nil {
			_ = drvGraphExecDestroy(exec)
			return e
		}
		if err != nil {
			return fmt.Errorf("cuda: instantiate the captured graph: %w", err)
		}
		g.exec = exec
		return nil
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

// Launch queues one replay of the graph on s.
func (g *Graph) Launch(s *Stream) error {
	if s == nil || s.ctx != g.ctx {
		return fmt.Errorf("cuda: launch a graph on a stream of another context: %w", errs.ErrInvalidArgument)
	}
	err := s.do(func(h uintptr) error {
		if g.exec == 0 {
			return fmt.Errorf("cuda: graph is closed: %w", errs.ErrClosed)
		}
		return drvGraphLaunch(g.exec, h)
	})
	if err == nil {
		g.ctx.stats.graphLaunches.Add(1)
	}
	return err
}

// Close destroys the graph (a queued replay still completes).
func (g *Graph) Close() error {
	return g.ctx.Do(func() error {
		if g.exec == 0 {
			return nil
		}
		err := drvGraphExecDestroy(g.exec)
		g.exec = 0
		return err
	})
}
