from tests.conftest import login


async def test_sign_in_and_home(client, make_user):
    user = await make_user(email="smoke@example.com")
    response = await login(client, user.email)
    assert response.status_code == 303
    home = await client.get("/")
    assert home.status_code == 200
