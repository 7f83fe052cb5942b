def test_world_builds(world):
    case = world.file()
    assert case.state == "group"
