"""The sandbox's Graph API refuses what Meta refuses: a wrong or (when the app requires it)
missing appsecret_proof, debug_token without an app token, unknown parameters on publishing
calls, retired versions; and it counts every token sent in a URL, which Steward never does."""

from __future__ import annotations

import hashlib
import hmac

import pytest
import requests

from connectors.domain import Post
from connectors.errors import AuthenticationFailed, Rejected
from connectors.facebook import FacebookPageConnector
from sandbox.state import DEFAULT_FACEBOOK_APP, DEFAULT_FACEBOOK_CREDENTIALS

PAGE = DEFAULT_FACEBOOK_CREDENTIALS["page_id"]
TOKEN = DEFAULT_FACEBOOK_CREDENTIALS["page_access_token"]
APP_TOKEN = f"{DEFAULT_FACEBOOK_APP['app_id']}|{DEFAULT_FACEBOOK_APP['app_secret']}"


def proof(token: str, secret: str = DEFAULT_FACEBOOK_APP["app_secret"]) -> str:
    return hmac.new(secret.encode(), token.encode(), hashlib.sha256).hexdigest()


def graph(sandbox, method: str, path: str, **arguments) -> requests.Response:
    return requests.request(method, f"{sandbox.url}/v25.0/{path}", timeout=5, **arguments)


@pytest.fixture
def connector(sandbox) -> FacebookPageConnector:
    return FacebookPageConnector(**DEFAULT_FACEBOOK_CREDENTIALS, **DEFAULT_FACEBOOK_APP,
                                 sandbox_url=sandbox.url, timeout=2.0)


def require_app_secret(sandbox) -> None:
    with sandbox.state.change() as world:
        world["facebook"]["app"]["require_proof"] = True


def every_operation(connector: FacebookPageConnector, photo) -> None:
    connector.check()
    ref = connector.publish(Post("Our new library", (photo, photo)))
    connector.get_post(ref.remote_id)
    connector.replies(ref.remote_id, None)
    connector.conversations()
    connector.block("3000000000000000001")
    connector.unblock("3000000000000000001")
    connector.token_expiry()
    connector.delete(ref)


# -- the Page token, never in a URL ----------------------------------------------------------------

def test_the_sandbox_counts_a_token_sent_in_the_query_string_the_old_way(sandbox, control):
    old = graph(sandbox, "GET", PAGE, params={"fields": "id,name", "access_token": TOKEN})
    assert old.status_code == 200  # Meta serves it; the school's proxy logs it
    assert control.state()["facebook"]["tokens_in_urls"] == 1


def test_steward_never_puts_a_token_in_a_url(connector, control, photo):
    every_operation(connector, photo)
    assert control.state()["facebook"]["tokens_in_urls"] == 0


# -- appsecret_proof ----------------------------------------------------------------------------

def test_every_call_carries_the_proof_an_app_that_requires_it_needs(connector, sandbox, photo):
    require_app_secret(sandbox)
    every_operation(connector, photo)


def test_a_call_without_the_proof_is_refused_when_the_app_requires_it(sandbox):
    require_app_secret(sandbox)
    old = graph(sandbox, "GET", PAGE, headers={"Authorization": f"OAuth {TOKEN}"})
    assert old.status_code == 400
    assert old.json()["error"]["message"] == ("API calls from the server require an "
                                              "appsecret_proof argument")
    without_secret = FacebookPageConnector(**DEFAULT_FACEBOOK_CREDENTIALS,
                                           sandbox_url=sandbox.url)
    with pytest.raises(AuthenticationFailed, match="credentials set facebook.app_secret"):
        without_secret.check()


def test_a_wrong_proof_is_refused_even_when_the_app_does_not_require_one(sandbox):
    response = graph(sandbox, "GET", PAGE, headers={"Authorization": f"OAuth {TOKEN}"},
                     params={"appsecret_proof": proof(TOKEN, "an-old-secret")})
    assert response.json()["error"]["message"] == ("Invalid appsecret_proof provided in the "
                                                   "API argument")
    wrong = FacebookPageConnector(**DEFAULT_FACEBOOK_CREDENTIALS, sandbox_url=sandbox.url,
                                  app_id=DEFAULT_FACEBOOK_APP["app_id"],
                                  app_secret="an-old-secret")
    with pytest.raises(AuthenticationFailed, match="Require App Secret"):
        wrong.check()


# -- debug_token ------------------------------------------------------------------------------

def test_debug_token_with_the_page_token_the_old_way_is_refused(sandbox):
    old = graph(sandbox, "GET", "debug_token", params={"input_token": TOKEN},
                headers={"Authorization": f"OAuth {TOKEN}"})
    assert old.status_code == 400
    assert "app access token" in old.json()["error"]["message"]


def test_the_page_tokens_expiry_is_asked_with_the_app_token(connector, sandbox):
    with sandbox.state.change() as world:
        world["facebook"]["token_expires_at"] = 1893456000
    assert connector.token_expiry().year == 2030


def test_without_the_apps_id_and_secret_the_expiry_cannot_be_checked_and_steward_says_why(
        sandbox):
    connector = FacebookPageConnector(**DEFAULT_FACEBOOK_CREDENTIALS, sandbox_url=sandbox.url)
    with pytest.raises(Rejected, match="without the Meta app's id and secret"):
        connector.token_expiry()


# -- publishing calls and versions ------------------------------------------------------------

@pytest.mark.parametrize("path, parameters", [
    (f"{PAGE}/feed", {"message": "Hello", "privacy_setting": "EVERYONE"}),
    (f"{PAGE}/blocked", {"user": "3000000000000000001", "reason": "abuse"}),
])
def test_an_unknown_parameter_on_a_publishing_call_is_refused(sandbox, path, parameters):
    response = graph(sandbox, "POST", path, data=parameters,
                     headers={"Authorization": f"OAuth {TOKEN}"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == 100 and error["message"] == "(#100) Invalid parameter"
    assert error["error_data"]["blame_field_specs"][0][0] in ("privacy_setting", "reason")


@pytest.mark.parametrize("version", ["v12.0", "v20.0", "v99.0"])
def test_a_retired_or_unreleased_graph_api_version_is_refused_with_metas_error(sandbox, version):
    # v20.0 was available until 24 September 2026 (Meta's changelog)
    response = requests.get(f"{sandbox.url}/{version}/{PAGE}", timeout=5,
                            headers={"Authorization": f"OAuth {TOKEN}"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == 2635


def test_a_non_numeric_page_id_is_not_a_graph_object(sandbox):
    response = graph(sandbox, "POST", "oakfieldprimary/feed", data={"message": "Hi"},
                     headers={"Authorization": f"OAuth {TOKEN}"})
    assert response.status_code >= 400
