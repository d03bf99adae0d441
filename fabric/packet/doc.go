// Package packet parses the frames that instances write on their ENIs, on the engine's hot path.
//
// A frame is decoded once, in place, into a reused Parsed: a flat struct of the header fields the
// fabric decides on (MACs, ARP, IP addresses and protocol, fragments, ports, TCP flags, ICMP type
// and the flow an ICMP error quotes). Decoding reads fixed offsets, never allocates and never
// panics, whatever the bytes: anything malformed or truncated becomes KindUnknown and is dropped
// by the pipeline. The model is tailscale's net/packet; gopacket decodes the same frames in the
// tests as the reference.
//
// The package also builds the few frames the VPC router originates (ARP replies and ICMP
// "fragmentation needed") into caller buffers, and reads the virtio_net_hdr that precedes every
// frame on a TAP device opened with IFF_VNET_HDR.
package packet
