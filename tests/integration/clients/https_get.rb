#!/usr/bin/ruby
# https_get.rb HOST PORT N [--cafile F] [--server-hostname NAME]
#
# N sequential HTTPS GETs, each with a NEW Net::HTTP object (Net::HTTP.start
# per request), so Ruby's own session reuse, which only works across
# reconnects of one Net::HTTP object (@ssl_session), never applies.
# verify_mode is VERIFY_NONE unless --cafile is given.
# Ruby frees SSL objects only when the GC runs: we deliberately do not force
# a GC here, as an ordinary program would not either.
# Output: 'conn I ok reused=R proto=P status=S' / 'conn I error MSG', then
# 'summary connections=N ok=K failed=F reused=R'. Exit 0 iff all succeeded.
require 'net/http'
require 'openssl'
require 'optparse'

cafile = nil
sni = nil
OptionParser.new do |o|
  o.on('--cafile F') { |v| cafile = v }
  o.on('--server-hostname NAME') { |v| sni = v }
end.parse!
host, port, n = ARGV
abort "usage: #{$0} HOST PORT N [options]" unless n
port = Integer(port)
n = Integer(n)
$stdout.sync = true

ok = failed = reused = 0
n.times do |i|
  begin
    line = nil
    # Net::HTTP sends SNI = its address unless that is an IP.  With
    # --server-hostname NAME it is NAME, and ipaddr makes it connect to HOST.
    if sni
      http = Net::HTTP.new(sni, port)
      http.ipaddr = host
    else
      http = Net::HTTP.new(host, port)
    end
    http.use_ssl = true
    http.open_timeout = 20
    http.read_timeout = 20
    if cafile
      http.verify_mode = OpenSSL::SSL::VERIFY_PEER
      http.ca_file = cafile
    else
      http.verify_mode = OpenSSL::SSL::VERIFY_NONE
    end
    http.start do |h|
      sock = h.instance_variable_get(:@socket)&.io
      r = sock.respond_to?(:session_reused?) && sock.session_reused? ? 1 : 0
      proto = sock.respond_to?(:ssl_version) ? sock.ssl_version : '?'
      res = h.get('/', 'Connection' => 'close')
      raise "HTTP status #{res.code}" unless res.code.start_with?('2')
      line = "conn #{i} ok reused=#{r} proto=#{proto} status=#{res.code}"
      reused += r
    end
    ok += 1
    puts line
  rescue StandardError => e
    failed += 1
    puts "conn #{i} error #{e.class}: #{e.message}"
  end
end
puts "summary connections=#{n} ok=#{ok} failed=#{failed} reused=#{reused}"
exit(failed.zero? ? 0 : 1)
