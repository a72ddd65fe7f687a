module example.com/appauth-signer

go 1.19
