//go:build !unix

package coordinator

const oNonblock = 0
