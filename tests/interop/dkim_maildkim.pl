#!/usr/bin/perl
# Mail::DKIM as an independent DKIM judge for tests/interop/dkim_interop.py.
#
#   dkim_maildkim.pl sign KEYFILE DOMAIN SELECTOR CANON < message > signature-field
#   dkim_maildkim.pl verify KEYS < message        (one line per signature: "result detail")
#
# KEYS has one "NAME TXT-VALUE" line per key record. DNS is stubbed: names
# not in KEYS answer NXDOMAIN, so no network is used.
use strict;
use warnings;
use Mail::DKIM::Signer;
use Mail::DKIM::Verifier;
use Mail::DKIM::DNS;
use Net::DNS::RR;

my $mode = shift @ARGV or die "usage: sign|verify ...\n";
binmode STDIN;
binmode STDOUT;
my $msg = do { local $/; <STDIN> };
$msg =~ s/\r?\n/\r\n/g;    # SMTP form, as on the wire

if ($mode eq 'sign') {
    my ($keyfile, $domain, $selector, $canon) = @ARGV;
    my $signer = Mail::DKIM::Signer->new(
        Algorithm => 'rsa-sha256',
        Method    => $canon,
        Domain    => $domain,
        Selector  => $selector,
        KeyFile   => $keyfile,
        Headers   => 'from:to:subject:date:message-id',
    );
    $signer->PRINT($msg);
    $signer->CLOSE;
    print $signer->signature->as_string, "\r\n";
    exit 0;
}

if ($mode eq 'verify') {
    my ($keys) = @ARGV;
    my %txt;
    open(my $fh, '<', $keys) or die "cannot open $keys: $!\n";
    while (my $line = <$fh>) {
        chomp $line;
        next unless $line =~ /^(\S+)\s+(.*)$/;
        $txt{lc $1} = $2;
    }
    close $fh;
    no warnings 'redefine';
    *Mail::DKIM::DNS::query = sub {
        my ($name, $type) = @_;
        my $value = $txt{lc $name};
        if (!defined $value) { $@ = 'NXDOMAIN'; return; }
        die "DNS error: SERVFAIL\n" if $value eq 'SERVFAIL';
        my @strings = map { '"' . $_ . '"' } unpack('(A255)*', $value);
        return Net::DNS::RR->new("$name 300 IN TXT " . join(' ', @strings));
    };
    my $v = Mail::DKIM::Verifier->new();
    $v->PRINT($msg);
    $v->CLOSE;
    my @sigs = $v->signatures;
    print "none\n" unless @sigs;
    for my $s (@sigs) {
        my $detail = $s->result_detail // '';
        print $s->result, " ", $detail, "\n";
    }
    exit 0;
}
die "unknown mode $mode\n";
