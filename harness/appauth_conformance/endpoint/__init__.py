"""The verifying endpoint (`appauth-conformance serve`): a local double of the service's App ID
authentication API that judges every request a team's real HTTP client sends (docs/endpoint.md).

    apps      the apps it knows (app ID, key, tenancy) from the command line or the pyproject
    ca        the throw-away certificate authority of one run (HTTPS by default)
    judging   one HTTP request -> the token checks of tokens.Judge + what only a server sees; the answer
    server    the HTTP application (routes, limits) and the server thread
    serve     `serve [-- COMMAND]`: start, run the command with the endpoint in its environment, judge, record
"""
