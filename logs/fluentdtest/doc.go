// Package fluentdtest tests skiff's fluentd log driver against the
// OpenTelemetry Collector's fluentforward receiver, a Forward-protocol
// server from another library than the one the driver sends with. It is a
// module of its own so that the collector stays out of skiff's go.mod.
package fluentdtest
