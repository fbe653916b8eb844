// https_get.js HOST PORT CAFILE [SERVERNAME]: one HTTPS GET with node's
// https module (a new TLS connection: no agent keep-alive), printing
// "status=N protocol=P" on success, exit 1 on any error.
'use strict';
const fs = require('fs');
const https = require('https');
const [host, port, cafile, servername] = process.argv.slice(2);
const req = https.get({
  host, port: Number(port), path: '/', ca: fs.readFileSync(cafile),
  servername: servername || 'localhost', agent: false,
}, (res) => {
  res.resume();
  res.on('end', () => {
    console.log(`status=${res.statusCode} protocol=${res.socket.getProtocol ? res.socket.getProtocol() : '?'}`);
  });
});
req.on('error', (e) => { console.error(`error: ${e.message}`); process.exit(1); });
