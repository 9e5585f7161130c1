"""Services, networks, volumes, configs and secrets become Engine API specs with hashed names."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.core.labels import MANAGED_BY, REQUESTED_IMAGE
from reconciler.manifests.kinds.config import Config, Secret
from reconciler.manifests.kinds.network import Network
from reconciler.manifests.kinds.service import Service
from reconciler.manifests.kinds.volume import Volume
from reconciler.manifests.loading import load_manifests
from reconciler.manifests.manifest_set import ManifestSet
from reconciler.render.objects import config_name, config_spec, network_spec, volume_driver, volume_name
from reconciler.render.service_spec import service_spec

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def examples() -> ManifestSet:
    return load_manifests(EXAMPLES)


def test_wordpress_service_spec(examples: ManifestSet) -> None:
    wordpress = examples.get("Service/wordpress")
    assert isinstance(wordpress, Service)
    spec = service_spec(wordpress, examples, instance="lab")
    container = spec["TaskTemplate"]["ContainerSpec"]
    assert spec["Name"] == "wordpress"
    assert spec["Mode"] == {"Replicated": {"Replicas": 2}}
    assert spec["Labels"][MANAGED_BY] == "lab"
    assert spec["Labels"][REQUESTED_IMAGE] == "wordpress:6.6-apache"
    assert spec["Labels"]["traefik.http.routers.wordpress.rule"] == "Host(`www.example.org`) || Host(`example.org`)"
    assert spec["Labels"]["traefik.http.middlewares.hsts.headers.stsSeconds"] == "31536000"
    assert [n["Target"] for n in spec["TaskTemplate"]["Networks"]] == ["web-servers", "backend"]
    assert spec["TaskTemplate"]["Networks"][1]["Aliases"] == ["wp"]
    assert container["Env"][0] == "WORDPRESS_DB_HOST=db"
    mount = container["Mounts"][0]
    assert mount["Type"] == "volume" and mount["Target"] == "/var/www/html/wp-content"
    assert mount["Source"].startswith("wp-content-") and len(mount["Source"]) == len("wp-content-") + 8
    assert mount["VolumeOptions"]["DriverConfig"]["Options"] == {
        "type": "nfs",
        "o": "addr=nas.example.org,nfsvers=4.1,rw,hard,noatime,timeo=600",
        "device": ":/srv/nfs/wordpress",
    }
    assert container["Secrets"][0]["File"]["Name"] == "db-password"
    assert container["Secrets"][0]["SecretName"].startswith("db-password-")
    assert container["Configs"][0]["File"]["Name"] == "/usr/local/etc/php/conf.d/uploads.ini"
    assert container["Healthcheck"]["StartPeriod"] == 60_000_000_000
    assert spec["TaskTemplate"]["Resources"]["Limits"] == {"NanoCPUs": 500_000_000, "MemoryBytes": 512 * 2**20}
    assert spec["TaskTemplate"]["Placement"] == {
        "Preferences": [{"Spread": {"SpreadDescriptor": "node.labels.zone"}}],
        "MaxReplicas": 1,
    }
    assert spec["UpdateConfig"] == {
        "Parallelism": 1,
        "Delay": 10_000_000_000,
        "FailureAction": "rollback",
        "Order": "start-first",
    }


def test_global_service_with_host_ports_bind_mount_and_caps(examples: ManifestSet) -> None:
    traefik = examples.get("Service/traefik")
    proxy = examples.get("Service/traefik-socket-proxy")
    assert isinstance(traefik, Service) and isinstance(proxy, Service)
    spec = service_spec(traefik, examples)
    assert spec["Mode"] == {"Global": {}}
    assert {"Protocol": "tcp", "TargetPort": 443, "PublishedPort": 443, "PublishMode": "host"} in spec["EndpointSpec"][
        "Ports"
    ]
    bind = service_spec(proxy, examples)["TaskTemplate"]["ContainerSpec"]["Mounts"][0]
    assert bind == {
        "Type": "bind",
        "Source": "/var/run/docker.sock",
        "Target": "/var/run/docker.sock",
        "ReadOnly": True,
    }


def test_octal_file_modes(examples: ManifestSet) -> None:
    db = examples.get("Service/db")
    assert isinstance(db, Service)
    secret = service_spec(db, examples)["TaskTemplate"]["ContainerSpec"]["Secrets"][0]
    assert secret["File"]["Mode"] == 0o400
    assert secret["File"]["UID"] == "999"


def test_network_spec(examples: ManifestSet) -> None:
    backend = examples.get("Network/backend")
    assert isinstance(backend, Network)
    spec = network_spec(backend)
    assert spec["Driver"] == "overlay" and spec["Internal"] is True
    assert spec["Options"] == {"encrypted": ""}
    assert spec["IPAM"] == {"Driver": "default", "Config": [{"Subnet": "10.231.0.0/24", "Gateway": "10.231.0.1"}]}


def test_volume_names_follow_driver_options(examples: ManifestSet) -> None:
    volume = examples.get("Volume/db-data")
    assert isinstance(volume, Volume)
    changed = volume.model_copy(
        update={"spec": volume.spec.model_copy(update={"nfs": volume.spec.nfs.model_copy(update={"version": "3"})})}
    )  # type: ignore[union-attr]
    assert volume_name(volume) != volume_name(changed)
    assert volume_name(volume) == volume_name(volume.model_copy())
    assert volume_driver(changed)["Options"]["o"].startswith("addr=192.0.2.10,nfsvers=3,")


def test_config_and_secret_names_carry_a_content_hash(examples: ManifestSet) -> None:
    config = examples.get("Config/php-uploads")
    secret = examples.get("Secret/db-password")
    assert isinstance(config, Config) and isinstance(secret, Secret)
    assert config_name(config, b"a") != config_name(config, b"b")
    assert config_name(config, b"a") == config_name(config, b"a")
    body = config_spec(secret, examples.contents["Secret/db-password"])
    assert body["Name"].startswith("db-password-") and body["Labels"][MANAGED_BY] == "reconciler"
