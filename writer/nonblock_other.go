//go:build !unix

package writer

const oNonblock = 0
