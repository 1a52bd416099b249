"""Test support: the Linux side of the interop tests, run inside a network namespace.

  peer.py tcp-sink <addr> <port>            accept one connection, print "<bytes> <sha256>" at its end
  peer.py tcp-send <addr> <port> <bytes>    connect, send that many random bytes, print "<bytes> <sha256>"
  peer.py udp-echo <addr> <port> <count>    echo <count> datagrams back to their senders
  peer.py udp-ask <addr> <port> <text>      send one datagram, print the reply
  peer.py tx-csum-off <ifname>              turn transmit checksum offload off (what ethtool -K <if> tx off does)

Prints "ready" once listening (servers). Standard library only.
"""
import ctypes
import fcntl
import hashlib
import os
import socket
import struct
import sys

SIOCETHTOOL = 0x8946
ETHTOOL_STXCSUM = 0x17


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def tx_csum_off(ifname):
    # struct ethtool_value { __u32 cmd; __u32 data; } handed to SIOCETHTOOL through ifr_data.
    value = ctypes.create_string_buffer(struct.pack("II", ETHTOOL_STXCSUM, 0))
    ifr = struct.pack("16sP", ifname.encode(), ctypes.addressof(value))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    fcntl.ioctl(s.fileno(), SIOCETHTOOL, ifr)


def main():
    if sys.argv[1] == "tx-csum-off":
        tx_csum_off(sys.argv[2])
        return
    mode, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == "tcp-sink":
        s = socket.socket(family(addr), socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, port))
        s.listen(1)
        print("ready", flush=True)
        c, _ = s.accept()
        h = hashlib.sha256()
        n = 0
        while True:
            b = c.recv(1 << 16)
            if not b:
                break
            h.update(b)
            n += len(b)
        c.close()
        print(n, h.hexdigest(), flush=True)
    elif mode == "tcp-send":
        total = int(sys.argv[4])
        c = socket.create_connection((addr, port), timeout=60)
        h = hashlib.sha256()
        left = total
        while left > 0:
            b = os.urandom(min(left, 1 << 16))
            h.update(b)
            c.sendall(b)
            left -= len(b)
        c.shutdown(socket.SHUT_WR)
        while c.recv(1 << 16):
            pass
        c.close()
        print(total, h.hexdigest(), flush=True)
    elif mode == "udp-echo":
        count = int(sys.argv[4])
        s = socket.socket(family(addr), socket.SOCK_DGRAM)
        s.bind((addr, port))
        print("ready", flush=True)
        for _ in range(count):
            data, peer = s.recvfrom(65535)
            s.sendto(data, peer)
    elif mode == "udp-ask":
        s = socket.socket(family(addr), socket.SOCK_DGRAM)
        s.settimeout(5)
        s.sendto(sys.argv[4].encode(), (addr, port))
        data, _ = s.recvfrom(65535)
        print(data.decode(), flush=True)
    else:
        sys.exit("unknown mode " + mode)


main()
