package cuda

// The forward pass as a sequence of kernel launches on the session's
// stream, in the CPU engine's order (engine/session.go): a prefill pass of
// n tokens at a position known on the host, and the decode step, whose
// position and token are in device memory (ctl) so that one captured graph
// replays every step.

// f32 returns the view of n float32 values of b from element off.
func f32(b Buffer, off, n int) Buffer {
	return Buffer{Ptr: b.Ptr + 4*uint64(off), Size: 4 * int64(n)}
}

// ids returns the token ids of a pass (ctl[1:]) and the position (ctl[0]).
func (s *Session) ids() Buffer { return Buffer{Ptr: s.ctl.Ptr + 4, Size: s.ctl.Size - 4} }
func (s *Session) pos() Buffer { return Buffer{Ptr: s.ctl.Ptr, Size: 4} }

// embed writes the embeddings of the pass's n tokens into x.
func (s *Session) embed(n int) {
	m, hp := s.m, s.m.hp
	g, b := s.l.elemLaunch(n * hp.dim)
	f := m.k.EmbedF32
	if m.emb.f16 {
		f = m.k.EmbedF16
	}
	s.l.launch(f, g, b, m.emb.w, s.ids(), s.x, i32(n), i32(hp.dim))
}

// norm writes RMSNorm(src) * w into dst (n rows of dim); with quant, also
// the int8 form of dst into q8 (one launch).
func (s *Session) norm(dst, src, w Buffer, n, dim int, eps float32, quant bool) {
	grid, block := [3]uint32{uint32(n), 1, 1}, [3]uint32{normThreads, 1, 1}
	q, qs, qsum := uint64(0), uint64(0), uint64(0)
	if quant {
		q, qs, qsum = s.q8.Ptr, s.qs.Ptr, s.qsum.Ptr
	}
	s.l.launch(s.m.k.RMSNormQuant, grid, block, src, w, dst, q, qs, qsum, i32(n), i32(dim), eps, b2i(s.m.fastNorm))
	if quant {
		s.q8src = dst.Ptr
	} else {
		s.dirty(dst)
	}
}

// quantize makes q8 hold the int8 form of src (n rows of cols) unless it
// already does.
func (s *Session) quantize(src Buffer, n, cols int) {
	if s.q8src == src.Ptr {
		return
	}
	s.l.launch(s.m.k.QuantizeRows, [3]uint32{uint32(n), 1, 1}, [3]uint32{normThreads, 1, 1}, src, s.q8, s.qs, s.qsum, i32(n), i32(cols))
	s.q8src = src.Ptr
}

// linear writes (or with add, adds) W src into dst for n tokens.
func (s *Session) linear(dst Buffer, l *linear, src Buffer, n int, add bool) {
	k := s.m.k
	if l.ternary() {
		s.quantize(src, n, l.cols)
		if n == 1 {
			g, b := ternLaunch(l.rows, l.cols, 1, false)
			s.l.launch(k.TernMV, g, b, l.w, s.q8, s.qs, s.qsum, dst, i32(l.rows), i32(l.cols),
				i32(l.rows), i32(l.rows), l.scale, l.scale, l.scale, b2i(add))
		} else {
			g, b := ternLaunch(l.rows, l.cols, n, true)
			s.l.launch(k.TernMM, g, b, l.w, s.q8, s.qs, s.qsum, dst, i32(l.rows), i32(l.cols), i32(n), l.scale, b2i(add))
		}
		s.dirty(dst)
		return
	}
	out := dst
	if add {
		out = f32(s.y, 0, n*l.rows)
	}
	f := k.MatMulF32
	switch l.kind {
	case linF16:
		f = k.MatMulF16
	case linQ8_0:
		f = k.MatMulQ8_0
	}
	g, b := fmmLaunch(l.rows, n)
	s.l.launch(f, g, b, l.w, src, out, i32(l.rows), i32(l.cols), i32(n), l.scale)
	if add {
		g, b := s.l.elemLaunch(n * l.rows)
		s.l.launch(k.AddInplace, g, b, dst, out, i32(n*l.rows))
	}
	s.dirty(dst)
}

// fused runs a fused ternary product (decode step, one token).
func (s *Session) fused(dst Buffer, f *fusedTern, src Buffer) {
	s.quantize(src, 1, f.cols)
	g, b := ternLaunch(f.rows, f.cols, 1, false)
	s.l.launch(s.m.k.TernMV, g, b, f.w, s.q8, s.qs, s.qsum, dst, i32(f.rows), i32(f.cols),
		i32(f.seg1), i32(f.seg2), f.sc[0], f.sc[1], f.sc[2], int32(0))
	s.dirty(dst)
}

// dirty notes that buf changed, so q8 no longer holds its int8 form.
func (s *Session) dirty(buf Buffer) {
	if buf.Ptr == s.q8src {
		s.q8src = 0
	}
}

// needsQuant reports whether any of ls takes int8 activations.
func needsQuant(ls ...*linear) bool {
	for _, l := range ls {
		if l.ternary() {
			return true
		}
	}
	return false
}

// enqueuePass queues a prefill pass of n tokens (ids in ctl[1:]) at
// position start, with the logits of the last want rows in s.logits.
func (s *Session) enqueuePass(n, start, want int) {
	m, hp, k := s.m, s.m.hp, s.m.k
	B, dim, kv, ffn := s.batch, hp.dim, hp.kvDim(), hp.ffn
	s.q8src = 0
	s.embed(n)
	x, h, att, f := f32(s.x, 0, n*dim), f32(s.h, 0, n*dim), f32(s.att, 0, n*dim), f32(s.f, 0, n*ffn)
	q, kk, v := f32(s.qkv, 0, n*dim), f32(s.qkv, B*dim, n*kv), f32(s.qkv, B*(dim+kv), n*kv)
	gate, up := f32(s.gu, 0, n*ffn), f32(s.gu, B*ffn, n*ffn)
	half := b2i(hp.ropeHalf)
	for l := range m.blocks {
		b := &m.blocks[l]
		s.norm(h, x, b.attnNorm, n, dim, hp.eps, needsQuant(&b.q, &b.k, &b.v))
		s.linear(q, &b.q, h, n, false)
		s.linear(kk, &b.k, h, n, false)
		s.linear(v, &b.v, h, n, false)
		g, bl := s.l.elemLaunch(n * hp.heads * hp.ropeDims / 2)
		s.l.launch(k.Rope, g, bl, q, m.cos, m.sin, i32(n), i32(hp.heads), i32(hp.headDim), i32(hp.ropeDims), i32(start), half)
		g, bl = s.l.elemLaunch(n * hp.kvHeads * hp.ropeDims / 2)
		s.l.launch(k.Rope, g, bl, kk, m.cos, m.sin, i32(n), i32(hp.kvHeads), i32(hp.headDim), i32(hp.ropeDims), i32(start), half)
		g, bl = s.l.elemLaunch(n * kv)
		s.l.launch(k.KVStore, g, bl, kk, v, s.kc[l], s.vc[l], i32(n), i32(kv), i32(start))
		s.l.launch(k.Attend, [3]uint32{uint32(hp.heads), uint32(n), 1}, [3]uint32{attendThreads, 1, 1},
			q, s.kc[l], s.vc[l], att, i32(n), i32(start), i32(hp.heads), i32(hp.kvHeads), i32(hp.headDim),
			hp.attnScale, i32(hp.halfPairs()), s.scratch)
		s.dirty(att)
		if b.attnSub.Ptr != 0 {
			s.norm(att, att, b.attnSub, n, dim, hp.eps, needsQuant(&b.o))
		}
		s.linear(x, &b.o, att, n, true)

		s.norm(h, x, b.ffnNorm, n, dim, hp.eps, needsQuant(&b.gate, &b.up))
		s.linear(gate, &b.gate, h, n, false)
		s.linear(up, &b.up, h, n, false)
		g, bl = s.l.elemLaunch(n * ffn)
		s.l.launch(k.GLU, g, bl, gate, up, f, i32(n*ffn), b2i(hp.relu2))
		s.dirty(f)
		if b.ffnSub.Ptr != 0 {
			s.norm(f, f, b.ffnSub, n, ffn, hp.eps, needsQuant(&b.down))
		}
		s.linear(x, &b.down, f, n, true)
	}
	if want == 0 {
		return
	}
	last := f32(s.x, (n-want)*dim, want*dim)
	hw := f32(s.h, 0, want*dim)
	s.norm(hw, last, m.outNorm, want, dim, hp.outEps, m.head.ternary())
	s.linear(f32(s.logits, 0, want*hp.vocab), &m.head, hw, want, false)
}

// enqueueStep queues the decode step: the token ctl[1] at position ctl[0],
// its logits in s.logits, their argmax as the next token in ctl[1] and in
// hist, and the position advanced.
func (s *Session) enqueueStep() {
	m, hp, k := s.m, s.m.hp, s.m.k
	dim, kv, ffn := hp.dim, hp.kvDim(), hp.ffn
	s.q8src = 0
	s.embed(1)
	x, h, att, f := f32(s.x, 0, dim), f32(s.h, 0, dim), f32(s.att, 0, dim), f32(s.f, 0, ffn)
	q, kk, v := f32(s.qkv, 0, dim), f32(s.qkv, dim, kv), f32(s.qkv, dim+kv, kv)
	gate, up := f32(s.gu, 0, ffn), f32(s.gu, ffn, ffn)
	half := b2i(hp.ropeHalf)
	for l := range m.blocks {
		b := &m.blocks[l]
		s.norm(h, x, b.attnNorm, 1, dim, hp.eps, needsQuant(&b.q, &b.k, &b.v))
		if b.qkv.ok() {
			s.fused(f32(s.qkv, 0, dim+2*kv), &b.qkv, h)
		} else {
			s.linear(q, &b.q, h, 1, false)
			s.linear(kk, &b.k, h, 1, false)
			s.linear(v, &b.v, h, 1, false)
		}
		g, bl := s.l.elemLaunch((hp.heads+hp.kvHeads)*hp.ropeDims/2 + kv)
		s.l.launch(k.RopeKVStep, g, bl, q, kk, v, m.cos, m.sin, s.kc[l], s.vc[l], i32(hp.heads), i32(hp.kvHeads),
			i32(hp.headDim), i32(hp.ropeDims), half, s.pos())
		s.l.launch(k.AttendStep, [3]uint32{uint32(hp.heads), 1, 1}, [3]uint32{attendThreads, 1, 1},
			q, s.kc[l], s.vc[l], att, i32(hp.heads), i32(hp.kvHeads), i32(hp.headDim), hp.attnScale,
			i32(hp.halfPairs()), s.scratch, i32(hp.ctx), s.pos())
		s.dirty(att)
		if b.attnSub.Ptr != 0 {
			s.norm(att, att, b.attnSub, 1, dim, hp.eps, needsQuant(&b.o))
		}
		s.linear(x, &b.o, att, 1, true)

		s.norm(h, x, b.ffnNorm, 1, dim, hp.eps, needsQuant(&b.gate, &b.up))
		if b.gu.ok() {
			s.fused(f32(s.gu, 0, 2*ffn), &b.gu, h)
		} else {
			s.linear(gate, &b.gate, h, 1, false)
			s.linear(up, &b.up, h, 1, false)
		}
		g, bl = s.l.elemLaunch(ffn)
		s.l.launch(k.GLU, g, bl, gate, up, f, i32(ffn), b2i(hp.relu2))
		s.dirty(f)
		if b.ffnSub.Ptr != 0 {
			s.norm(f, f, b.ffnSub, 1, ffn, hp.eps, needsQuant(&b.down))
		}
		s.linear(x, &b.down, f, 1, true)
	}
	s.norm(h, x, m.outNorm, 1, dim, hp.outEps, m.head.ternary())
	s.linear(f32(s.logits, 0, hp.vocab), &m.head, h, 1, false)
	s.l.launch(k.ArgmaxStep, [3]uint32{1, 1, 1}, [3]uint32{argmaxThreads, 1, 1},
		s.logits, i32(hp.vocab), s.pos(), s.ids(), s.hist, i32(hp.ctx))
}
