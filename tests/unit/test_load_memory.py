"""Memory held after a load (issue 18): a document that validated keeps its resource and the positions
its messages need, not the parsed YAML tree as well, in the manifest set and in the parse cache the
controller keeps between revisions."""

from __future__ import annotations

from pathlib import Path

from reconciler.manifests.loading import load_manifests
from reconciler.manifests.parse_cache import ParseCache

API = "reconciler.swarm/v1alpha1"


def test_a_validated_document_keeps_positions_but_not_its_parsed_tree(tmp_path: Path) -> None:
    (tmp_path / "web.yaml").write_text(
        f"apiVersion: {API}\nkind: Network\nmetadata: {{name: net}}\nspec: {{}}\n---\n"
        f"apiVersion: {API}\nkind: Service\nmetadata: {{name: web}}\nspec:\n  image: nginx\n  networks: [net]\n"
    )
    cache = ParseCache()
    loaded = load_manifests(tmp_path, cache)
    again = load_manifests(tmp_path, cache)  # from the cache
    assert cache.hits == 1
    for manifests in (loaded, again):
        sources = {m.resource.key: m.source for m in manifests.items}
        assert [s.data for s in sources.values()] == [None, None]
        web = next(s for key, s in sources.items() if key.endswith("/web"))
        assert (web.position(("spec", "image")).line, web.position(("spec", "image")).column) == (
            10,
            3,
        )  # the key of the value, as every message points


def test_the_manifests_of_one_folder_share_one_path_and_keep_no_instance_dicts(tmp_path: Path) -> None:
    for i in range(3):
        (tmp_path / f"n{i}.yaml").write_text(
            f"apiVersion: {API}\nkind: Network\nmetadata: {{name: net{i}}}\nspec: {{}}\n"
        )
    for cache in (None, ParseCache()):
        manifests = load_manifests(tmp_path, cache)
        assert len({id(item.folder) for item in manifests.items}) == 1
        assert {item.folder for item in manifests.items} == {tmp_path.resolve()}
        assert not any(hasattr(x, "__dict__") for item in manifests.items for x in (item, item.source))
