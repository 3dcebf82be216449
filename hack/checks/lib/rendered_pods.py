"""Pulls out of `aibid-operator render -f` output what the PostgreSQL and Redis pods run, so hack/checks/replication.sh
executes exactly those commands: every ConfigMap is written to OUT/configmaps/NAME/KEY, and for each pod step the
command (with ConfigMap mount paths mapped onto those directories) and environment are printed as bash arrays.
Env values from Secrets or the downward API cannot be rendered; their names are listed so the check must supply
them. Usage: rendered_pods.py RENDERED.yaml OUT  (prints bash assignments; exit 1 naming what is missing)"""
import os
import shlex
import sys

import yaml

# (variable prefix, StatefulSet name suffix, where the step is: container NAME, init:NAME or poststart:NAME)
STEPS = [
    ("PG_PRIMARY_SETUP", "-postgres", "poststart:postgres"),
    ("PG_REPLICA_BOOTSTRAP", "-postgres-replica", "init:clone-primary"),
    ("REDIS_PRIMARY", "-redis", "redis"),
    ("REDIS_REPLICA", "-redis-replica", "redis"),
]


def fail(message):
    print(f"rendered_pods.py: {message}", file=sys.stderr)
    sys.exit(1)


def bash_array(name, items):
    return f"{name}=({' '.join(shlex.quote(str(item)) for item in items)})"


def main(rendered, out):
    objects = [doc for doc in yaml.safe_load_all(open(rendered, encoding="utf-8")) if doc]
    config_dirs = {}
    for obj in objects:
        if obj["kind"] == "ConfigMap":
            name = obj["metadata"]["name"]
            directory = os.path.join(out, "configmaps", name)
            os.makedirs(directory, exist_ok=True)
            for key, text in (obj.get("data") or {}).items():
                with open(os.path.join(directory, key), "w", encoding="utf-8") as handle:
                    handle.write(text)
            config_dirs[name] = directory
            print(f"CONFIGMAP_{name.upper().replace('-', '_')}={shlex.quote(directory)}")
    sets = [obj for obj in objects if obj["kind"] == "StatefulSet"]
    for prefix, suffix, where in STEPS:
        matching = [s for s in sets if s["metadata"]["name"].endswith(suffix)]
        if len(matching) != 1:
            fail(f"expected one StatefulSet named *{suffix}, found {[s['metadata']['name'] for s in matching]}")
        sts = matching[0]
        pod = sts["spec"]["template"]["spec"]
        kind, _, container_name = where.rpartition(":")
        containers = pod.get("initContainers", []) if kind == "init" else pod["containers"]
        container = next((c for c in containers if c["name"] == container_name), None)
        if container is None:
            fail(f"{sts['metadata']['name']} has no {where} container")
        if kind == "poststart":
            command = (container.get("lifecycle", {}).get("postStart", {}).get("exec", {}) or {}).get("command")
        else:
            command = (container.get("command") or []) + (container.get("args") or [])
        if not command:
            fail(f"{sts['metadata']['name']} {where} runs no command")
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        mapped = {}
        for mount in container.get("volumeMounts", []):
            config_map = volumes.get(mount["name"], {}).get("configMap")
            if config_map:
                mapped[mount["mountPath"].rstrip("/")] = config_dirs[config_map["name"]]

        def local(arg):
            for path, directory in mapped.items():
                if arg == path or arg.startswith(path + "/"):
                    return directory + arg[len(path):]
            return arg
        plain = [f"{e['name']}={e['value']}" for e in container.get("env", []) if "value" in e]
        supplied = [e["name"] for e in container.get("env", []) if "value" not in e]
        print(f"{prefix}_STATEFULSET={shlex.quote(sts['metadata']['name'])}")
        print(f"{prefix}_REPLICAS={int(sts['spec'].get('replicas', 1))}")
        print(bash_array(f"{prefix}_CMD", [local(arg) for arg in command]))
        print(bash_array(f"{prefix}_ENV", plain))
        print(bash_array(f"{prefix}_SUPPLIED_ENV", supplied))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        fail("usage: rendered_pods.py RENDERED.yaml OUT")
    main(sys.argv[1], sys.argv[2])
