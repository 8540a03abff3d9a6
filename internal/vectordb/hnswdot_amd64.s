#include "textflag.h"

// func dotFMA(a, b *float32, n int) float32
// n is a multiple of 8. Four accumulators hide the latency of the fused
// multiply-adds: 32 floats per iteration, then 8 at a time.
TEXT ·dotFMA(SB), NOSPLIT, $0-28
	MOVQ a+0(FP), SI
	MOVQ b+8(FP), DI
	MOVQ n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	CMPQ CX, $32
	JLT  tail
loop32:
	VMOVUPS (SI), Y4
	VMOVUPS 32(SI), Y5
	VMOVUPS 64(SI), Y6
	VMOVUPS 96(SI), Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	CMPQ CX, $32
	JGE  loop32
tail:
	CMPQ CX, $8
	JLT  done
	VMOVUPS (SI), Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  tail
done:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func prefetchVecs(base *float32, nodes *uint32, n int, stride int)
// Issues PREFETCHT0 for every cache line of the vectors of nodes[0:n]; a
// vector is stride bytes from base. Prefetches do not stall, so the walk
// starts scoring the first neighbour while the others are still in flight.
TEXT ·prefetchVecs(SB), NOSPLIT, $0-32
	MOVQ base+0(FP), SI
	MOVQ nodes+8(FP), DI
	MOVQ n+16(FP), CX
	MOVQ stride+24(FP), DX
	TESTQ CX, CX
	JEQ  pdone
pnode:
	MOVL (DI), AX
	IMULQ DX, AX
	LEAQ (SI)(AX*1), R8
	MOVQ DX, R9
pline:
	PREFETCHT0 (R8)
	ADDQ $64, R8
	SUBQ $64, R9
	JGT  pline
	ADDQ $4, DI
	DECQ CX
	JNZ  pnode
pdone:
	RET
