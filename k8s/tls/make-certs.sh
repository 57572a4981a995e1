#!/usr/bin/env bash
# Makes the certificates for Augur's TLS example and writes them as Kubernetes Secrets:
#   augur-server-tls (namespace augur): tls.crt, tls.key, ca.crt  -> Augur's --tls-cert,
#       --tls-key, and --tls-client-ca (to verify KEDA's client certificate)
#   augur-client-tls (namespace shop): ca.crt, tls.crt, tls.key   -> read by the
#       TriggerAuthentication as caCert, tlsClientCert, tlsClientKey (PEM contents)
# Usage: k8s/tls/make-certs.sh OUT_DIR [DAYS]   then: kubectl apply -f OUT_DIR/secrets.yaml
# One self-signed CA signs both sides; use your own PKI (e.g. cert-manager) in production.
set -euo pipefail
out=${1:?usage: make-certs.sh OUT_DIR [DAYS]}
days=${2:-365}
ns=${AUGUR_NAMESPACE:-augur}
app_ns=${APP_NAMESPACE:-shop}
mkdir -p "$out"
cd "$out"
umask 077

openssl req -x509 -newkey rsa:2048 -nodes -days "$days" -subj "/CN=augur-example-ca" \
  -keyout ca.key -out ca.crt 2>/dev/null

# KEDA verifies the server name = the host part of scalerAddress.
san="DNS:augur.${ns}.svc.cluster.local,DNS:augur.${ns}.svc,DNS:augur.${ns},DNS:augur"
openssl req -newkey rsa:2048 -nodes -subj "/CN=augur.${ns}.svc" -keyout server.key -out server.csr 2>/dev/null
printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$san" > server.ext
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days "$days" \
  -extfile server.ext -out server.crt 2>/dev/null

openssl req -newkey rsa:2048 -nodes -subj "/CN=keda-operator" -keyout client.key -out client.csr 2>/dev/null
printf 'extendedKeyUsage=clientAuth\n' > client.ext
openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days "$days" \
  -extfile client.ext -out client.crt 2>/dev/null

indent() { sed 's/^/    /' "$1"; }
{
  cat <<YAML
apiVersion: v1
kind: Secret
metadata:
  name: augur-server-tls
  namespace: ${ns}
type: Opaque
stringData:
  tls.crt: |
$(indent server.crt)
  tls.key: |
$(indent server.key)
  ca.crt: |
$(indent ca.crt)
---
apiVersion: v1
kind: Secret
metadata:
  name: augur-client-tls
  namespace: ${app_ns}
type: Opaque
stringData:
  ca.crt: |
$(indent ca.crt)
  tls.crt: |
$(indent client.crt)
  tls.key: |
$(indent client.key)
YAML
} > secrets.yaml
rm -f server.csr client.csr server.ext client.ext ca.srl
echo "wrote $out/secrets.yaml (and the PEM files); apply it with: kubectl apply -f $out/secrets.yaml"
