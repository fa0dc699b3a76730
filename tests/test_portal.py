"""find_tomogram against a fake CryoET Data Portal (loopback only, no internet)."""

import json
import socket

import pytest
import requests

from tests.fake_portal import FakePortal
from zarr_cryoet.util.errors import ZarrCryoetError
from zarr_cryoet.data.portal import (DEFAULT_DATASET, PortalNotFoundError, PortalTomogram, PortalUnreachableError,
                                find_tomogram)

ZARR_BASE = "http://127.0.0.1:9/data"  # never fetched: find_tomogram reads metadata only


def tomogram(id, run_id, spacing, standard, processing="denoised", size=(630, 630, 184)):
    """A tomogram row as the portal would hold it (snake_case, like the Python models)."""
    x, y, z = size
    return {
        "id": id, "run_id": run_id, "deposition_id": 10310, "name": f"tomo{id}",
        "size_x": x, "size_y": y, "size_z": z, "voxel_spacing": spacing,
        "processing": processing, "reconstruction_method": "WBP",
        "is_portal_standard": standard,
        "https_omezarr_dir": f"{ZARR_BASE}/{id}.zarr",
        "s3_omezarr_dir": f"s3://cryoet-data-portal-public/{id}.zarr",
        "deposition_date": "2024-10-01T00:00:00",
    }


RUNS = ["TS_100_3", "TS_5_4", "TS_6_4", "TS_6_6", "TS_69_2", "TS_73_6", "TS_86_3"]

DATA = dict(
    datasets=[{"id": 10445, "title": "CZII object identification"}, {"id": 10446, "title": "other"}],
    runs=[{"id": 100 + i, "dataset_id": 10445, "name": name} for i, name in enumerate(RUNS)]
    + [{"id": 200, "dataset_id": 10446, "name": "TS_100_3"}],
    tomograms=[
        # TS_100_3 (run 100): the portal-standard one at the finest spacing wins.
        tomogram(30, 100, 10.012, False),         # lower id, not portal standard
        tomogram(31, 100, 20.024, True, size=(315, 315, 92)),  # standard, coarser
        tomogram(32, 100, 10.012, True),          # <- expected for TS_100_3
        tomogram(33, 100, 10.012, True, processing="raw"),  # ties, higher id
        # TS_5_4 (run 101): also standard at 10.012, lower id: expected without a run name.
        tomogram(25, 101, 10.012, True),
        tomogram(20, 101, 10.012, None),          # null is_portal_standard counts as not standard
        # Dataset 10446 has a "better" tomogram that must never leak into 10445.
        tomogram(1, 200, 5.0, True),
    ],
)
# TS_6_4 ... TS_86_3 have no tomograms.


@pytest.fixture(scope="module")
def fake():
    with FakePortal(**DATA) as portal:
        yield portal


@pytest.fixture
def queries(fake):
    """The requests the fake receives during one test."""
    start = len(fake.queries)
    return lambda: fake.queries[start:]


def test_named_run(fake, queries):
    tomo = find_tomogram(10445, "TS_100_3", url=fake.url)
    assert tomo == PortalTomogram(
        dataset_id=10445,
        run_name="TS_100_3",
        run_id=100,
        tomogram_id=32,
        voxel_spacing=10.012,
        size_zyx=(184, 630, 630),
        https_omezarr_dir=f"{ZARR_BASE}/32.zarr",
        s3_omezarr_dir="s3://cryoet-data-portal-public/32.zarr",
        processing="denoised",
        reconstruction_method="WBP",
    )
    assert isinstance(tomo.voxel_spacing, float)
    assert all(type(n) is int for n in tomo.size_zyx)
    # One round trip: a real client-built `tomograms` query filtered on the run.
    (sent,) = queries()
    assert "tomograms(" in sent["query"]
    assert "datasetId" in sent["query"] and "10445" in sent["query"] and '"TS_100_3"' in sent["query"]
    assert "cryoet_data_portal_client" in sent["user_agent"]


def test_default_dataset_and_run(fake, queries):
    tomo = find_tomogram(url=fake.url)  # dataset 10445, any run
    assert DEFAULT_DATASET == 10445
    assert (tomo.dataset_id, tomo.run_name, tomo.run_id, tomo.tomogram_id) == (10445, "TS_5_4", 101, 25)
    sent = [q["query"] for q in queries()]
    assert len(sent) == 2
    assert "tomograms(" in sent[0] and "name" not in sent[0].split(")")[0]
    assert "runs(" in sent[1]  # the run's name, by its id


def test_deterministic(fake):
    assert find_tomogram(10445, url=fake.url) == find_tomogram(10445, url=fake.url)
    assert find_tomogram(10446, url=fake.url).tomogram_id == 1


def test_as_dict_is_json(fake):
    record = find_tomogram(10445, "TS_100_3", url=fake.url).as_dict()
    assert json.loads(json.dumps(record)) == record
    assert record["size_zyx"] == [184, 630, 630]
    assert record["run_name"] == "TS_100_3" and record["tomogram_id"] == 32


def test_unknown_dataset(fake):
    with pytest.raises(PortalNotFoundError) as info:
        find_tomogram(99999, url=fake.url)
    message = str(info.value)
    assert message == "dataset 99999 has no tomograms on the CryoET Data Portal; check the dataset id"
    assert isinstance(info.value, ZarrCryoetError)


def test_unknown_dataset_with_run_name(fake):
    with pytest.raises(PortalNotFoundError, match="dataset 99999 has no tomograms.*check the dataset id"):
        find_tomogram(99999, "TS_100_3", url=fake.url)


def test_unknown_run(fake, queries):
    with pytest.raises(PortalNotFoundError) as info:
        find_tomogram(10445, "TS_X", url=fake.url)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("run 'TS_X' not found in dataset 10445; available runs include: ")
    listed = message.split("include: ")[1]
    assert listed == "TS_100_3, TS_5_4, TS_69_2, TS_6_4, TS_6_6 (and 2 more)"
    sent = [q["query"] for q in queries()]
    assert len(sent) == 2 and "tomograms(" in sent[0] and "runs(" in sent[1]


def test_run_without_tomograms(fake):
    with pytest.raises(PortalNotFoundError) as info:
        find_tomogram(10445, "TS_6_4", url=fake.url)
    assert str(info.value) == ("run 'TS_6_4' of dataset 10445 has no tomograms on the CryoET Data Portal; "
                               "choose another run")


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable():
    url = f"http://127.0.0.1:{closed_port()}/graphql"
    with pytest.raises(PortalUnreachableError) as info:
        find_tomogram(10445, "TS_100_3", url=url)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"cannot reach the CryoET Data Portal at {url} (")
    assert "Connection refused" in message  # the OS reason, not urllib3's whole retry story
    assert message.endswith("); check the network, or use --source phantom or a cached crop")
    assert isinstance(info.value, ZarrCryoetError) and isinstance(info.value, ConnectionError)


def test_http_error_is_unreachable(fake):
    with pytest.raises(PortalUnreachableError, match=r"cannot reach .*404"):
        find_tomogram(10445, "TS_100_3", url=fake.url.replace("/graphql", "/nowhere"))


def test_graphql_error_is_reported():
    broken = dict(DATA, tomograms=[dict(tomogram(32, 100, 10.012, True), size_x="big")])
    with FakePortal(**broken) as portal:
        url = portal.url
        with pytest.raises(PortalUnreachableError) as info:
            find_tomogram(10445, "TS_100_3", url=url)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"the CryoET Data Portal at {url} rejected the query (")
    assert "use --source phantom or a cached crop" in message


# --- the fake itself ----------------------------------------------------------


def test_fake_rejects_get(fake):
    response = requests.get(fake.url, timeout=10)
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"


def test_fake_filters_generically(fake):
    answer = fake.execute("""{
        runs(where: {tomograms: {isPortalStandard: {_eq: true}}, name: {_like: "TS_%"},
                     dataset: {id: {_in: [10445]}}}) { name datasetId }
        tomograms(where: {voxelSpacing: {_gt: 10}, processing: {_neq: raw}, run: {name: {_eq: "TS_5_4"}}},
                  limitOffset: {limit: 1}) { id isPortalStandard }
    }""")
    assert "errors" not in answer
    assert answer["data"]["runs"] == [{"name": "TS_100_3", "datasetId": 10445},
                                      {"name": "TS_5_4", "datasetId": 10445}]
    assert answer["data"]["tomograms"] == [{"id": 25, "isPortalStandard": True}]


def test_fake_reports_unsupported(fake):
    answer = fake.execute("{ tomograms(orderBy: [{id: asc}]) { id } }")
    assert "orderBy" in answer["errors"][0]["message"]


def test_fake_stops_cleanly():
    with FakePortal(**DATA) as portal:
        url = portal.url
        assert requests.get(url, timeout=10).status_code == 405
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=10)
