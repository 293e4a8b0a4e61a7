# Throwaway TLS material for tests and local brokers (sourced, not run):
# a private CA and server certificates for 127.0.0.1/localhost, made with
# openssl. Nothing here is fit for production: the keys are unencrypted and
# the CA lives next to them.
#
#   tls_make_ca DIR           DIR/ca.pem (certificate) and DIR/ca.key, a
#                             self-signed CA valid 2 days; kept when present
#   tls_make_cert DIR NAME    DIR/NAME.pem (certificate), DIR/NAME.key (PKCS#8,
#                             unencrypted) and DIR/NAME.bundle.pem (key then
#                             certificate: a PEM keystore for Kafka), signed
#                             by DIR/ca.pem, subject alternative names
#                             IP:127.0.0.1, DNS:localhost, valid 2 days
#
# Both return non-zero with openssl's message on stderr when openssl fails
# or is missing (scripts/setup-deps.sh installs it).

tls_make_ca() {
  local d=$1
  command -v openssl >/dev/null 2>&1 || {
    echo "tls: openssl not found; run: bash scripts/setup-deps.sh" >&2
    return 1
  }
  mkdir -p "$d" || return 1
  [ -s "$d/ca.pem" ] && [ -s "$d/ca.key" ] && return 0
  (umask 077 && openssl req -x509 -newkey rsa:2048 -nodes -days 2 -sha256 \
    -subj "/CN=ccpulse throwaway test CA" -keyout "$d/ca.key" -out "$d/ca.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    >"$d/openssl.log" 2>&1) || {
    cat "$d/openssl.log" >&2
    return 1
  }
}

tls_make_cert() {
  local d=$1 name=$2
  [ -s "$d/ca.pem" ] || {
    echo "tls: no CA in '$d' (tls_make_ca first)" >&2
    return 1
  }
  printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" \
    "basicConstraints=CA:FALSE" "keyUsage=digitalSignature,keyEncipherment" \
    "extendedKeyUsage=serverAuth,clientAuth" >"$d/$name.ext"
  (umask 077 && openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
    -keyout "$d/$name.key" -out "$d/$name.csr" &&
    openssl x509 -req -in "$d/$name.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
      -CAcreateserial -days 2 -sha256 -extfile "$d/$name.ext" -out "$d/$name.pem" &&
    cat "$d/$name.key" "$d/$name.pem" >"$d/$name.bundle.pem") \
    >"$d/openssl.log" 2>&1 || {
    cat "$d/openssl.log" >&2
    return 1
  }
  rm -f "$d/$name.csr" "$d/$name.ext"
}
