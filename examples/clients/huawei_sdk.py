"""The vendor's Python SDK (huaweicloudsdkmeeting), unmodified, as a team's code uses it: its public
MeetingClient with App ID credentials, pointed at APPAUTH_ENDPOINT, trusting the run's CA through its own
HttpConfig. Its first call logs in (POST /v2/usg/acs/auth/appauth, judged) and then makes the call itself
with the issued token (answered).

    appauth-conformance serve --app "$APP_ID=$APP_KEY" \\
        --divergences sdk-divergences.yaml -- python clients/huawei_sdk.py
"""

import os

from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkmeeting.v1 import MeetingClient, SearchMeetingsRequest
from huaweicloudsdkmeeting.v1.meeting_credentials import AuthTypeEnum, MeetingCredentials, TenantSceneEnum

credentials = (
    MeetingCredentials()
    .with_auth_type_enum(AuthTypeEnum.APP_ID)
    .with_tenant_scene_enum(TenantSceneEnum.SINGLE_TENANT)
    .with_app_id(os.environ["APP_ID"])
    .with_app_key(os.environ["APP_KEY"])
    .with_user_id(os.environ.get("USER_ID", "alice"))
)
config = HttpConfig.get_default_config()
config.ssl_ca_cert = os.environ.get("SSL_CERT_FILE")
client = (
    MeetingClient.new_builder()
    .with_http_config(config)
    .with_credentials(credentials)
    .with_endpoint(os.environ["APPAUTH_ENDPOINT"])
    .build()
)
print(client.search_meetings(SearchMeetingsRequest()))
