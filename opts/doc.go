// Package opts parses and checks the values users give skiff, in flags and
// in Engine API fields, the way Docker does: the CLI and the engine share
// it, so that both refuse the same inputs with Docker's words.
package opts
