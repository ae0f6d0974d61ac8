from tests.conftest import scalar


def test_template_has_schema(conn):
    assert scalar(conn, "SELECT count(*) FROM moltctl_migrations") == 2
    assert scalar(conn, "SELECT count(*) FROM dimensions") == 5
