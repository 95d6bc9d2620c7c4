// Package durable flushes a file's data to stable storage with the cheapest
// call the system has for it (SyncData); os.File.Sync flushes all of a file.
package durable
