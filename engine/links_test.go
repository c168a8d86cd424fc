package engine

import (
	"slices"
	"testing"

	"github.com/moby/moby/api/types/network"
)

// The wants are what Docker's daemon/links (v28.5.2) gives for the same
// input, order included.
func TestLinkEnvVars(t *testing.T) {
	tests := []struct {
		name  string
		ports []string
		env   []string
		want  []string
	}{
		{
			name:  "/web/db",
			ports: []string{"5432/tcp"},
			env:   []string{"PGDATA=/var/lib/pg", "HOME=/root", "PATH=/bin", "NOEQ", "EMPTY="},
			want: []string{
				"DB_PORT=tcp://172.17.0.2:5432",
				"DB_PORT_5432_TCP=tcp://172.17.0.2:5432",
				"DB_PORT_5432_TCP_ADDR=172.17.0.2",
				"DB_PORT_5432_TCP_PORT=5432",
				"DB_PORT_5432_TCP_PROTO=tcp",
				"DB_NAME=/web/db",
				"DB_ENV_PGDATA=/var/lib/pg",
				"DB_ENV_EMPTY=",
			},
		},
		{
			// TCP first, then sctp before udp; each run of consecutive
			// ports is summed up after the port that ends it.
			name:  "/web/my-cache",
			ports: []string{"6379/tcp", "53/udp", "8080/tcp", "8081/tcp", "8082/tcp", "54/udp", "9000/sctp"},
			want: []string{
				"MY_CACHE_PORT=tcp://172.17.0.2:6379",
				"MY_CACHE_PORT_6379_TCP=tcp://172.17.0.2:6379",
				"MY_CACHE_PORT_6379_TCP_ADDR=172.17.0.2",
				"MY_CACHE_PORT_6379_TCP_PORT=6379",
				"MY_CACHE_PORT_6379_TCP_PROTO=tcp",
				"MY_CACHE_PORT_8080_TCP=tcp://172.17.0.2:8080",
				"MY_CACHE_PORT_8080_TCP_ADDR=172.17.0.2",
				"MY_CACHE_PORT_8080_TCP_PORT=8080",
				"MY_CACHE_PORT_8080_TCP_PROTO=tcp",
				"MY_CACHE_PORT_8081_TCP=tcp://172.17.0.2:8081",
				"MY_CACHE_PORT_8081_TCP_ADDR=172.17.0.2",
				"MY_CACHE_PORT_8081_TCP_PORT=8081",
				"MY_CACHE_PORT_8081_TCP_PROTO=tcp",
				"MY_CACHE_PORT_8082_TCP=tcp://172.17.0.2:8082",
				"MY_CACHE_PORT_8082_TCP_ADDR=172.17.0.2",
				"MY_CACHE_PORT_8082_TCP_PORT=8082",
				"MY_CACHE_PORT_8082_TCP_PROTO=tcp",
				"MY_CACHE_PORT_9000_SCTP=sctp://172.17.0.2:9000",
				"MY_CACHE_PORT_9000_SCTP_ADDR=172.17.0.2",
				"MY_CACHE_PORT_9000_SCTP_PORT=9000",
				"MY_CACHE_PORT_9000_SCTP_PROTO=sctp",
				"MY_CACHE_PORT_8080_TCP_START=tcp://172.17.0.2:8080",
				"MY_CACHE_PORT_8080_TCP_PORT_START=8080",
				"MY_CACHE_PORT_8080_TCP_END=tcp://172.17.0.2:8082",
				"MY_CACHE_PORT_8080_TCP_PORT_END=8082",
				"MY_CACHE_PORT_53_UDP=udp://172.17.0.2:53",
				"MY_CACHE_PORT_53_UDP_ADDR=172.17.0.2",
				"MY_CACHE_PORT_53_UDP_PORT=53",
				"MY_CACHE_PORT_53_UDP_PROTO=udp",
				"MY_CACHE_PORT_54_UDP=udp://172.17.0.2:54",
				"MY_CACHE_PORT_54_UDP_ADDR=172.17.0.2",
				"MY_CACHE_PORT_54_UDP_PORT=54",
				"MY_CACHE_PORT_54_UDP_PROTO=udp",
				"MY_CACHE_PORT_53_UDP_START=udp://172.17.0.2:53",
				"MY_CACHE_PORT_53_UDP_PORT_START=53",
				"MY_CACHE_PORT_53_UDP_END=udp://172.17.0.2:54",
				"MY_CACHE_PORT_53_UDP_PORT_END=54",
				"MY_CACHE_NAME=/web/my-cache",
			},
		},
		{
			name: "/web/none",
			env:  []string{"A=b=c"},
			want: []string{"NONE_NAME=/web/none", "NONE_ENV_A=b=c"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ports := network.PortSet{}
			for _, p := range tt.ports {
				ports[network.MustParsePort(p)] = struct{}{}
			}
			got := linkEnvVars("172.17.0.2", tt.name, tt.env, ports)
			if !slices.Equal(got, tt.want) {
				t.Errorf("linkEnvVars(%q) =\n%q\nwant\n%q", tt.name, got, tt.want)
			}
		})
	}
}
