/**
 * Numbers of the capture file formats: the pcapng block types, option codes and flag bits of
 * draft-ietf-opsawg-pcapng ("PCAP Now Generic (pcapng) Capture File Format"), the classic pcap
 * magic numbers of libpcap (draft-ietf-opsawg-pcap), and the LINKTYPE_* values of the tcpdump.org
 * link-layer header type registry (draft-ietf-opsawg-pcaplinktype).
 */

// --- pcapng block types (draft-ietf-opsawg-pcapng section 10.1) ---

/** Section Header Block: starts a section; its byte-order magic fixes the section's byte order. */
export const PCAPNG_SECTION_HEADER_BLOCK = 0x0a0d0d0a;
/** Interface Description Block: one capture interface (link type, snap length, options). */
export const PCAPNG_INTERFACE_DESCRIPTION_BLOCK = 0x00000001;
/** Packet Block: the obsolete predecessor of the Enhanced Packet Block (appendix A). */
export const PCAPNG_PACKET_BLOCK = 0x00000002;
/** Simple Packet Block: a packet of the first interface, without timestamp. */
export const PCAPNG_SIMPLE_PACKET_BLOCK = 0x00000003;
/** Name Resolution Block. */
export const PCAPNG_NAME_RESOLUTION_BLOCK = 0x00000004;
/** Interface Statistics Block. */
export const PCAPNG_INTERFACE_STATISTICS_BLOCK = 0x00000005;
/** Enhanced Packet Block: a packet with interface id, timestamp, lengths and options. */
export const PCAPNG_ENHANCED_PACKET_BLOCK = 0x00000006;
/** systemd Journal Export Block. */
export const PCAPNG_SYSTEMD_JOURNAL_EXPORT_BLOCK = 0x00000009;
/** Decryption Secrets Block. */
export const PCAPNG_DECRYPTION_SECRETS_BLOCK = 0x0000000a;
/** Custom Block that may be copied to a new file. */
export const PCAPNG_CUSTOM_BLOCK = 0x00000bad;
/** Custom Block that must not be copied to a new file. */
export const PCAPNG_CUSTOM_BLOCK_NO_COPY = 0x40000bad;

/** The Section Header Block's byte-order magic, as written in the writer's byte order. */
export const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;
/** The pcapng major version this code reads and writes. */
export const PCAPNG_VERSION_MAJOR = 1;
/** The pcapng minor version written. */
export const PCAPNG_VERSION_MINOR = 0;

// --- pcapng option codes (draft-ietf-opsawg-pcapng sections 3.5, 4.1, 4.2, 4.3) ---

/** opt_endofopt: ends an option list. */
export const PCAPNG_OPT_ENDOFOPT = 0;
/** opt_comment: a UTF-8 comment, valid in every block. */
export const PCAPNG_OPT_COMMENT = 1;
/** shb_hardware: the hardware the section was written on. */
export const PCAPNG_SHB_HARDWARE = 2;
/** shb_os: the operating system the section was written on. */
export const PCAPNG_SHB_OS = 3;
/** shb_userappl: the application that wrote the section. */
export const PCAPNG_SHB_USERAPPL = 4;
/** if_name: the interface's name. */
export const PCAPNG_IF_NAME = 2;
/** if_description: a description of the interface. */
export const PCAPNG_IF_DESCRIPTION = 3;
/** if_tsresol: timestamp resolution; MSB clear: 10^-value seconds, MSB set: 2^-(value & 0x7f). Default 6. */
export const PCAPNG_IF_TSRESOL = 9;
/** if_tsoffset: seconds (signed 64-bit) to add to every timestamp of the interface. */
export const PCAPNG_IF_TSOFFSET = 14;
/** epb_flags: the Enhanced Packet Block flags word. */
export const PCAPNG_EPB_FLAGS = 2;
/** epb_hash: a hash of the packet (algorithm octet 5 is Toeplitz). */
export const PCAPNG_EPB_HASH = 3;
/** epb_dropcount: packets lost since the previous packet of the interface. */
export const PCAPNG_EPB_DROPCOUNT = 4;
/** epb_packetid: a 64-bit packet identifier. */
export const PCAPNG_EPB_PACKETID = 5;
/** epb_queue: the receive queue of the interface the packet came from. */
export const PCAPNG_EPB_QUEUE = 6;
/** epb_verdict: what was done with the packet. */
export const PCAPNG_EPB_VERDICT = 7;
/** pack_flags: the Packet Block's flags word, laid out as epb_flags. */
export const PCAPNG_PACK_FLAGS = 2;

/** The if_tsresol value for nanoseconds (10^-9 s), which the writer always uses. */
export const PCAPNG_TSRESOL_NANOSECONDS = 9;
/** The if_tsresol value for microseconds (10^-6 s), the default when the option is absent. */
export const PCAPNG_TSRESOL_MICROSECONDS = 6;

// --- epb_flags word (draft-ietf-opsawg-pcapng section 4.3.1), bit 0 least significant ---

/** Bits 0-1: direction. */
export const PCAPNG_EPB_FLAGS_DIRECTION_MASK = 0x00000003;
/** Direction not available. */
export const PCAPNG_EPB_FLAGS_DIRECTION_UNKNOWN = 0;
/** Direction 01: inbound (received). */
export const PCAPNG_EPB_FLAGS_INBOUND = 0x00000001;
/** Direction 10: outbound (sent). */
export const PCAPNG_EPB_FLAGS_OUTBOUND = 0x00000002;
/** Bits 2-4: reception type. */
export const PCAPNG_EPB_FLAGS_RECEPTION_MASK = 0x0000001c;
/** Reception type 001: unicast. */
export const PCAPNG_EPB_FLAGS_UNICAST = 0x00000004;
/** Reception type 010: multicast. */
export const PCAPNG_EPB_FLAGS_MULTICAST = 0x00000008;
/** Reception type 011: broadcast. */
export const PCAPNG_EPB_FLAGS_BROADCAST = 0x0000000c;
/** Reception type 100: promiscuous. */
export const PCAPNG_EPB_FLAGS_PROMISCUOUS = 0x00000010;
/** Bits 5-8: FCS length in octets. */
export const PCAPNG_EPB_FLAGS_FCS_LENGTH_MASK = 0x000001e0;
/** Bit 9: checksum not ready (checksum offload on transmit). */
export const PCAPNG_EPB_FLAGS_CHECKSUM_NOT_READY = 0x00000200;
/** Bit 10: checksum already verified on receive. */
export const PCAPNG_EPB_FLAGS_CHECKSUM_VALID = 0x00000400;
/** Bit 11: TCP segmentation offloaded (a coalesced receive or an unsegmented send). */
export const PCAPNG_EPB_FLAGS_TCP_SEGMENTATION_OFFLOADED = 0x00000800;

// --- classic pcap (draft-ietf-opsawg-pcap; libpcap's names) ---

/** TCPDUMP_MAGIC: classic pcap with microsecond timestamps. */
export const TCPDUMP_MAGIC = 0xa1b2c3d4;
/** NSEC_TCPDUMP_MAGIC: classic pcap with nanosecond timestamps. */
export const NSEC_TCPDUMP_MAGIC = 0xa1b23c4d;
/** Classic pcap major version. */
export const PCAP_VERSION_MAJOR = 2;
/** Classic pcap minor version. */
export const PCAP_VERSION_MINOR = 4;

// --- link types (tcpdump.org LINKTYPE_* registry) ---

/** LINKTYPE_NULL: BSD loopback encapsulation. */
export const LINKTYPE_NULL = 0;
/** LINKTYPE_ETHERNET: IEEE 802.3 Ethernet frames. */
export const LINKTYPE_ETHERNET = 1;
/** LINKTYPE_RAW: raw IPv4 or IPv6 packets. */
export const LINKTYPE_RAW = 101;
/** LINKTYPE_LINUX_SLL: Linux "cooked" capture. */
export const LINKTYPE_LINUX_SLL = 113;
/** LINKTYPE_IPV4: raw IPv4 packets. */
export const LINKTYPE_IPV4 = 228;
/** LINKTYPE_IPV6: raw IPv6 packets. */
export const LINKTYPE_IPV6 = 229;
