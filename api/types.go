package api

import (
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
)

// ContainerJSON is a container's inspect answer with Docker API 1.41's
// NetworkSettings, which still has the first network's address at the top
// (`inspect -f '{{.NetworkSettings.IPAddress}}'`).
type ContainerJSON struct {
	container.InspectResponse
	NetworkSettings *NetworkSettings
}

// NetworkSettings is API 1.41's NetworkSettings.
type NetworkSettings struct {
	Bridge                 string
	SandboxID              string
	SandboxKey             string
	HairpinMode            bool
	LinkLocalIPv6Address   string
	LinkLocalIPv6PrefixLen int
	Ports                  network.PortMap
	SecondaryIPAddresses   []string
	SecondaryIPv6Addresses []string
	EndpointID             string
	Gateway                string
	GlobalIPv6Address      string
	GlobalIPv6PrefixLen    int
	IPAddress              string
	IPPrefixLen            int
	IPv6Gateway            string
	MacAddress             string
	Networks               map[string]*network.EndpointSettings
}
