//go:build !amd64

package vectordb

import "mediarec/internal/linalg"

func dot(a, b []float32) float32 { return linalg.Dot(a, b) }

func (h *hnswIndex) prefetch(nodes []uint32, s *hnswScratch) { h.touch(nodes, s) }
