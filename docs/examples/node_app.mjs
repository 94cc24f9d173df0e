// A product's web app that signs people in with teamgate (OpenID Connect), in one file, with
// openid-client (a certified relying-party library) and Node's own http server. Run it with:
//
//   npm install            (in docs/examples: openid-client only)
//   TEAMGATE_ISSUER=http://127.0.0.1:8000 CLIENT_ID=tgc_... CLIENT_SECRET=tgcs_... PORT=5001 node node_app.mjs
//
// and register http://127.0.0.1:5001/callback as the client's redirect URI.
import { createServer } from 'node:http'
import { randomBytes } from 'node:crypto'
import * as client from 'openid-client'

const issuer = new URL(process.env.TEAMGATE_ISSUER)
const port = Number(process.env.PORT ?? 5001)
const here = `http://127.0.0.1:${port}`
// discovery, then every token checked against teamgate's JWKS by openid-client
const options = issuer.protocol === 'http:' ? { execute: [client.allowInsecureRequests] } : {}
const config = await client.discovery(issuer, process.env.CLIENT_ID, process.env.CLIENT_SECRET, undefined, options)

const pending = new Map() // state -> { verifier, nonce }, while the person is at teamgate
const sessions = new Map() // this app's session cookie -> the ID token's claims

createServer(async (req, res) => {
  const url = new URL(req.url, here)
  if (url.pathname === '/login') {
    const verifier = client.randomPKCECodeVerifier()
    const state = client.randomState()
    const nonce = client.randomNonce()
    pending.set(state, { verifier, nonce })
    const params = {
      redirect_uri: `${here}/callback`, scope: 'openid profile email teams offline_access', state, nonce,
      code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    }
    if (url.searchParams.get('team')) params.team = url.searchParams.get('team')
    res.writeHead(302, { Location: client.buildAuthorizationUrl(config, params).href }).end()
  } else if (url.pathname === '/callback') {
    const expected = pending.get(url.searchParams.get('state'))
    pending.delete(url.searchParams.get('state'))
    try {
      const tokens = await client.authorizationCodeGrant(config, url, {
        pkceCodeVerifier: expected?.verifier, expectedState: url.searchParams.get('state'),
        expectedNonce: expected?.nonce,
      })
      const session = randomBytes(24).toString('base64url')
      sessions.set(session, { claims: tokens.claims(), refreshToken: tokens.refresh_token })
      res.writeHead(303, { Location: '/', 'Set-Cookie': `app_session=${session}; HttpOnly; SameSite=Lax; Path=/` }).end()
    } catch (error) {
      res.writeHead(400).end(`Sign-in did not complete: ${error.message}`)
    }
  } else if (url.pathname === '/') {
    const cookie = /app_session=([\w-]+)/.exec(req.headers.cookie ?? '')?.[1]
    const session = sessions.get(cookie)
    res.setHeader('Content-Type', 'application/json')
    res.end(JSON.stringify(session ? session.claims : { signedIn: false, login: '/login' }, null, 2))
  } else {
    res.writeHead(404).end()
  }
}).listen(port, '127.0.0.1', () => console.log(`example app on ${here}`))
