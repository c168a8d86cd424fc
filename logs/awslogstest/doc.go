// Package awslogstest tests skiff's awslogs log driver against kumo, an
// AWS service emulator that speaks the CloudWatch Logs API, in process on
// 127.0.0.1. It is a module of its own so that kumo stays out of skiff's
// go.mod.
package awslogstest
