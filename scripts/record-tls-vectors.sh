#!/usr/bin/env bash
# Records the TLS test vectors of crates/tls/tests/data/: real OpenSSL connections on 127.0.0.1,
# captured with tcpdump, each TCP connection turned into an ordered list of chunks so that the
# tests need neither a pcap reader nor tshark.
#
#   sudo scripts/record-tls-vectors.sh        # rewrites crates/tls/tests/data/<case>.*
#
# Needs openssl (3.x), tcpdump and tshark; run as root (tcpdump on lo).
#
# Per case NAME it writes:
#   NAME.keys        the client's NSS key log (openssl s_client -keylogfile)
#   NAME.stream      the connection: one line per TCP payload chunk, in capture order,
#                    "> HEX" client->server, "< HEX" server->client (a resumed case holds the
#                    second connection only; its key log holds the secrets of both)
#   NAME.client.txt  the application data the client sent (what the server decrypted)
#   NAME.server.txt  the application data the server sent (s_server -rev: each line reversed)
# The expected plaintext is cross-checked against tshark's own decryption with the key log.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/crates/tls/tests/data"
work="$(mktemp -d)"
trap '[[ -n "${KEEP_WORK:-}" ]] || rm -rf "$work"' EXIT
mkdir -p "$out"

openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=zk-test \
    -keyout "$work/server.key" -out "$work/server.crt" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=zk-client \
    -keyout "$work/client.key" -out "$work/client.crt" 2>/dev/null

port=44330

# awk program: tshark's "follow,*,raw" output to lines "client HEX" / "server HEX".
# shellcheck disable=SC2016
split='
    # Node 1 is the other end of node 0 (tshark 4 may print it as ":0" in follow,tls).
    /^Node 0: / { s = ($3 ~ (":" port "$")); node["0"] = s ? "server" : "client"; node["1"] = s ? "client" : "server"; next }
    /^Node 1: / { next }
    /^=+$/ || !("0" in node) { next }
    /^\t/ { sub(/^\t/, ""); if (length($0)) print node["1"] " " $0; next }
    length($0) { print node["0"] " " $0 }'

# The client's standard input: text lines, pauses, and s_client commands ("k": KeyUpdate,
# "K": KeyUpdate asking the peer for one). Ends by closing stdin, which makes s_client quit.
client_input() {
    local keyupdate="$1"
    sleep 0.6
    printf 'hello zookeeper over tls\n'
    sleep 0.4
    printf 'second line: stat /zookeeper\n'
    sleep 0.4
    if [[ "$keyupdate" == yes ]]; then
        printf 'k\n'; sleep 0.4
        printf 'after client key update\n'; sleep 0.4
        printf 'K\n'; sleep 0.4
        printf 'after both key updates\n'; sleep 0.4
    fi
    sleep 0.4
}

# record NAME "SERVER ARGS" "CLIENT ARGS" KEYUPDATE [CONNECTIONS]
record() {
    local name="$1" sargs="$2" cargs="$3" keyupdate="$4" conns="${5:-1}"
    port=$((port + 1))
    rm -f "$work/keys" "$work/sess.pem"
    tcpdump -i lo -U -s 0 -w "$work/$name.pcap" "tcp port $port" 2>/dev/null &
    local dump=$!
    sleep 1
    # shellcheck disable=SC2086
    openssl s_server -accept "127.0.0.1:$port" -naccept "$conns" -rev \
        -cert "$work/server.crt" -key "$work/server.key" $sargs >"$work/server.log" 2>&1 &
    local server=$!
    sleep 0.5
    local i
    for ((i = 1; i <= conns; i++)); do
        local sess="-sess_out $work/sess.pem"
        [[ $i -gt 1 ]] && sess="-sess_in $work/sess.pem"
        # shellcheck disable=SC2086
        client_input "$keyupdate" | openssl s_client -connect "127.0.0.1:$port" \
            -keylogfile "$work/keys" $sess $cargs >"$work/client.log" 2>&1 || true
    done
    wait "$server" || true
    sleep 0.5
    kill "$dump"
    wait "$dump" || true

    local stream=$((conns - 1))
    cp "$work/keys" "$out/$name.keys"
    # tshark prints the chunks of "Node 1" indented by a tab; which node is the server is
    # told by its port.
    tshark -r "$work/$name.pcap" -q -z "follow,tcp,raw,$stream" | awk -v port="$port" "$split" \
        | sed -e 's/^client /> /' -e 's/^server /< /' >"$out/$name.stream"
    # Expected plaintext: tshark's own decryption with the key log (an independent decoder).
    for dir in client server; do
        tshark -r "$work/$name.pcap" -o "tls.keylog_file:$work/keys" -q \
            -z "follow,tls,raw,$stream" | awk -v port="$port" "$split" \
            | sed -n "s/^$dir //p" | tr -d '\n' | xxd -r -p >"$out/$name.$dir.txt"
    done
    grep -q 'hello zookeeper over tls' "$out/$name.client.txt" \
        || { echo "$name: tshark did not decrypt the client's data" >&2; exit 1; }
    grep -q 'slt revo repeekooz olleh' "$out/$name.server.txt" \
        || { echo "$name: tshark did not decrypt the server's data" >&2; exit 1; }
    echo "$name: $(wc -l <"$out/$name.stream") chunks"
}

t13="-tls1_3"
t12="-tls1_2"
record tls13_aes128gcm "" "$t13 -ciphersuites TLS_AES_128_GCM_SHA256" no
record tls13_aes256gcm "" "$t13 -ciphersuites TLS_AES_256_GCM_SHA384" no
record tls13_chacha20 "" "$t13 -ciphersuites TLS_CHACHA20_POLY1305_SHA256" no
record tls13_keyupdate "" "$t13 -ciphersuites TLS_AES_128_GCM_SHA256" yes
# ZooKeeper servers ask for a client certificate: Certificate + CertificateVerify before the
# client's Finished.
record tls13_client_cert "-Verify 1" "$t13 -cert $work/client.crt -key $work/client.key" no
record tls12_ecdhe_aes128gcm "" "$t12 -cipher ECDHE-RSA-AES128-GCM-SHA256" no
record tls12_ecdhe_aes256gcm "" "$t12 -cipher ECDHE-RSA-AES256-GCM-SHA384" no
record tls12_ecdhe_chacha20 "" "$t12 -cipher ECDHE-RSA-CHACHA20-POLY1305" no
record tls12_ecdhe_aes128cbc_etm "" "$t12 -cipher ECDHE-RSA-AES128-SHA" no
record tls12_ecdhe_aes128cbc_noetm "" "$t12 -cipher ECDHE-RSA-AES128-SHA -no_etm" no
record tls12_rsa_aes256cbc_sha256 "" "$t12 -cipher AES256-SHA256 -no_etm" no
record tls12_resumed "" "$t12 -cipher ECDHE-RSA-AES128-GCM-SHA256" no 2
