# Sourced by hack/test.sh: a real Kubernetes API server v1.20.2 + etcd (+ kube-controller-manager for garbage
# collection) on free loopback ports, as ../shared/k8s/README.md describes. Exports AIBID_TEST_KUBECONFIG.
# AIBID_K8S_SERVICE_CIDR widens the ClusterIP range (the benchmark needs thousands of Services).
# Needs: free_port, on_exit (from hack/test.sh), $AIBID_SHARED, $AIBID_TEST_TMP; Debian etcd-server, openssl, xz-utils.

k8s_start() {
  local shared="${AIBID_SHARED:-$ROOT/../shared}/k8s"
  if [[ ! -f "$shared/kube-apiserver-v1.20.2.xz" ]]; then
    echo "ERROR: $shared/kube-apiserver-v1.20.2.xz not found: the test API server is missing." >&2
    echo "       Build it from Debian's kubernetes source package as ../shared/k8s/README.md describes," >&2
    echo "       or set AIBID_SHARED to a directory holding k8s/. Operator integration tests cannot run." >&2
    return 1
  fi
  local dir="$AIBID_TEST_TMP/k8s"
  mkdir -p "$dir/bin" "$dir/certs"
  local binary
  for binary in kube-apiserver kube-controller-manager; do
    if [[ ! -x "$dir/bin/$binary" ]]; then
      xz -dc "$shared/$binary-v1.20.2.xz" > "$dir/bin/$binary" && chmod +x "$dir/bin/$binary" || return 1
    fi
  done

  local etcd_port etcd_peer api_port
  etcd_port=$(free_port); etcd_peer=$(free_port); api_port=$(free_port)
  etcd --name t --data-dir "$dir/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
    --initial-cluster "t=http://127.0.0.1:$etcd_peer" >"$dir/etcd.log" 2>&1 &
  local etcd_pid=$!
  on_exit "kill $etcd_pid 2>/dev/null; wait $etcd_pid 2>/dev/null"

  openssl genrsa -out "$dir/sa.key" 2048 2>/dev/null && openssl rsa -in "$dir/sa.key" -pubout -out "$dir/sa.pub" 2>/dev/null || return 1
  local token
  token=$(python3 -c 'import secrets; print(secrets.token_hex(24))')
  echo "$token,admin,admin,system:masters" > "$dir/tokens.csv"

  "$dir/bin/kube-apiserver" --etcd-servers="http://127.0.0.1:$etcd_port" --bind-address=127.0.0.1 \
    --advertise-address=127.0.0.1 --secure-port="$api_port" --cert-dir="$dir/certs" \
    --token-auth-file="$dir/tokens.csv" --authorization-mode=RBAC \
    --service-account-issuer=https://kubernetes.default.svc --service-account-key-file="$dir/sa.pub" \
    --service-account-signing-key-file="$dir/sa.key" --service-cluster-ip-range="${AIBID_K8S_SERVICE_CIDR:-10.0.0.0/24}" \
    --disable-admission-plugins=ServiceAccount --allow-privileged=true >"$dir/apiserver.log" 2>&1 &
  local api_pid=$!
  on_exit "kill $api_pid 2>/dev/null; wait $api_pid 2>/dev/null"

  cat > "$dir/kubeconfig" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: https://127.0.0.1:$api_port
    insecure-skip-tls-verify: true
users:
- name: admin
  user:
    token: $token
contexts:
- name: test
  context: {cluster: test, user: admin}
current-context: test
KUBECONFIG

  local i
  for i in $(seq 1 240); do
    if curl -sk -H "Authorization: Bearer $token" "https://127.0.0.1:$api_port/readyz" 2>/dev/null | grep -qx ok; then
      break
    fi
    if ! kill -0 "$api_pid" 2>/dev/null; then
      echo "ERROR: kube-apiserver exited; last log lines:" >&2; tail -20 "$dir/apiserver.log" >&2; return 1
    fi
    sleep 0.5
  done
  if ((i == 240)); then
    echo "ERROR: kube-apiserver not ready after 120 s; see $dir/apiserver.log" >&2; return 1
  fi

  # Garbage collection of owned children needs the controller-manager. Only the garbage-collector and namespace
  # controllers run: with no kubelet, the Deployment/StatefulSet/Job controllers would overwrite the workload
  # status that tests set by hand to stand in for running pods.
  "$dir/bin/kube-controller-manager" --kubeconfig="$dir/kubeconfig" --secure-port=0 --port=0 \
    --controllers=garbagecollector,namespace --leader-elect=false >"$dir/controller-manager.log" 2>&1 &
  local cm_pid=$!
  on_exit "kill $cm_pid 2>/dev/null; wait $cm_pid 2>/dev/null"

  export AIBID_TEST_KUBECONFIG="$dir/kubeconfig"
  echo "kube-apiserver v1.20.2 ready at https://127.0.0.1:$api_port (kubeconfig $AIBID_TEST_KUBECONFIG)" >&2
}

k8s_start || { echo "ERROR: could not start the test Kubernetes API server" >&2; exit 1; }
