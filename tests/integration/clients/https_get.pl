#!/usr/bin/perl
# https_get.pl HOST PORT N [--cafile F] [--server-hostname NAME]
#              [--cert F --key F] [--then-verify CAFILE]
#
# N sequential HTTPS GETs, each with a NEW IO::Socket::SSL object (and so a new
# SSL_CTX: IO::Socket::SSL only shares contexts with SSL_reuse_ctx and keeps
# no session cache unless SSL_session_cache* is given, which we do not).
# SSL_verify_mode is NONE unless --cafile is given.
# --then-verify CAFILE: after the N connections, make one more in the same
# process that verifies the server against CAFILE (and the host name); its
# outcome is printed as 'verify ok ...' or 'verify error ...'.
# Output: 'conn I ok reused=R proto=P status=S' / 'conn I error MSG' per
# connection, then 'summary connections=N ok=K failed=F reused=R'.
# Exit 0 iff all N connections succeeded.
use strict;
use warnings;
use IO::Socket::SSL;
use Net::SSLeay;
use Getopt::Long;

my ($cafile, $sni, $cert, $key, $then_verify);
GetOptions(
    'cafile=s'          => \$cafile,
    'server-hostname=s' => \$sni,
    'cert=s'            => \$cert,
    'key=s'             => \$key,
    'then-verify=s'     => \$then_verify,
) or die "bad options\n";
my ($host, $port, $n) = @ARGV;
die "usage: $0 HOST PORT N [options]\n" unless defined $n;
$sni = $host unless defined $sni;

sub one {
    my ($ca) = @_;
    my %o = (
        PeerHost => $host,
        PeerPort => $port,
        Timeout  => 20,
    );
    $o{SSL_hostname} = $sni if $sni ne '';
    if (defined $ca) {
        $o{SSL_verify_mode}     = SSL_VERIFY_PEER;
        $o{SSL_ca_file}         = $ca;
        $o{SSL_verifycn_scheme} = 'http';
        $o{SSL_verifycn_name}   = $sni eq '' ? $host : $sni;
    } else {
        $o{SSL_verify_mode} = SSL_VERIFY_NONE;
    }
    if (defined $cert) {
        $o{SSL_cert_file} = $cert;
        $o{SSL_key_file}  = $key;
    }
    my $s = IO::Socket::SSL->new(%o)
        or return (0, "error " . ($IO::Socket::SSL::SSL_ERROR || $!));
    my $reused = Net::SSLeay::session_reused($s->_get_ssl_object()) ? 1 : 0;
    my $proto  = $s->get_sslversion() || '?';
    print $s "GET / HTTP/1.1\r\nHost: " . ($sni eq '' ? $host : $sni)
        . "\r\nConnection: close\r\n\r\n";
    my $data = '';
    while (1) {
        my $r = sysread($s, my $buf, 65536);
        last unless $r;
        $data .= $buf;
    }
    $s->close();
    my ($status) = $data =~ m{^HTTP/\S+\s+(\d+)};
    $status = 'none' unless defined $status;
    return ($status =~ /^2/ ? 1 : 0, "ok reused=$reused proto=$proto status=$status", $reused);
}

$| = 1;
my ($ok, $failed, $reused) = (0, 0, 0);
for my $i (0 .. $n - 1) {
    my ($good, $msg, $r) = one($cafile);
    print "conn $i $msg\n";
    if ($good) { $ok++; $reused += $r } else { $failed++ }
}
if (defined $then_verify) {
    my ($good, $msg) = one($then_verify);
    print "verify $msg\n";
}
print "summary connections=$n ok=$ok failed=$failed reused=$reused\n";
exit($failed ? 1 : 0);
