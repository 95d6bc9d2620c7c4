//go:build !unix

package coordinator

const oNonblock = 0

const oNofollow = 0
