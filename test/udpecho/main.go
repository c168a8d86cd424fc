// Command udpecho is a UDP echo server for skiff's end-to-end tests: it
// sends every datagram it receives on the given port back to its sender.
package main

import (
	"fmt"
	"net"
	"os"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: udpecho PORT")
		os.Exit(2)
	}
	pc, err := net.ListenPacket("udp", ":"+os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	buf := make([]byte, 65535)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if _, err := pc.WriteTo(buf[:n], from); err != nil {
			fmt.Fprintln(os.Stderr, err) // one lost echo; the test sees it
		}
	}
}
