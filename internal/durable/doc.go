// Package durable flushes files to stable storage: Sync all of a file, and
// SyncData what reading its data back needs, the cheaper call where the
// system has one.
package durable
