#!/usr/bin/perl
# bench/peers/maildkim_bench.pl WORKDIR [SECONDS]: Mail::DKIM sign/verify rates, in process.
#
# Debian libmail-dkim-perl (1.20230212): RSA only, this version has no
# Ed25519. For each size (5k, 100k) it signs msg-SIZE.eml and verifies
# signed-rsa-SIZE.eml (made by make_inputs.py) in a loop for about SECONDS
# (default 1.5) each. The private key is loaded once and handed to every
# Signer (Key =>), so key parsing is not part of the per-message cost.
# DNS is stubbed at Mail::DKIM::DNS::resolver(): a fake resolver whose send()
# returns a prebuilt Net::DNS answer, so Mail::DKIM still parses the TXT RR
# and the key record per message, as it would after a cache hit.
# A verify that does not pass aborts the run, and so does a signature of its
# own that its Verifier does not pass.
#
# Prints one JSON object: {"rsa": {"5k": {"sign": r, "verify": r}, ...}}.
use strict;
use warnings;
use Time::HiRes qw(clock_gettime CLOCK_PROCESS_CPUTIME_ID);
use JSON::PP;
use Net::DNS;
use Mail::DKIM::Signer;
use Mail::DKIM::Verifier;
use Mail::DKIM::PrivateKey;
use Mail::DKIM::DNS;

my ($work, $seconds) = @ARGV;
die "usage: maildkim_bench.pl WORKDIR [SECONDS]\n" unless defined $work;
$seconds = 1.5 unless defined $seconds;

sub slurp { my ($p) = @_; open my $f, '<:raw', $p or die "$p: $!\n"; local $/; my $d = <$f>; close $f; return $d; }

my $meta = decode_json(slurp("$work/meta.json"));
my $domain = $meta->{domain};
my $selector = $meta->{selectors}{rsa};
my $headers = join ':', @{ $meta->{signed_headers} };
my $record = slurp("$work/rsa.txt");
$record =~ s/\s+$//;

package FakeResolver {
    sub new { my ($class, %answers) = @_; return bless { answers => \%answers }, $class; }
    sub send {
        my ($self, $name, $type) = @_;
        $name = lc $name;
        $name =~ s/\.$//;
        return $self->{answers}{"$name/$type"} // do {
            my $p = Net::DNS::Packet->new($name, $type, 'IN');
            $p->header->rcode('NXDOMAIN');
            $p;
        };
    }
    sub errorstring { return 'NOERROR'; }
}

my $name = "$selector._domainkey.$domain";
my $pkt = Net::DNS::Packet->new($name, 'TXT', 'IN');
$pkt->header->qr(1);
$pkt->header->rcode('NOERROR');
my @chunks = unpack '(A250)*', $record;
$pkt->push(answer => Net::DNS::RR->new(name => $name, type => 'TXT', ttl => 300, txtdata => \@chunks));
Mail::DKIM::DNS::resolver(FakeResolver->new("$name/TXT" => $pkt));

my $key = Mail::DKIM::PrivateKey->load(File => "$work/rsa.pkcs1.pem");

# Rates are per CPU second of this process, like the other peers.
sub cpu { return clock_gettime(CLOCK_PROCESS_CPUTIME_ID); }

sub rate {
    my ($fn) = @_;
    $fn->();    # warm-up and result check
    my $n = 0;
    my $start = cpu();
    my $deadline = $start + $seconds;
    while (1) {
        $fn->();
        ++$n;
        my $now = cpu();
        return $n / ($now - $start) if $now >= $deadline;
    }
}

my %out;
for my $size ('5k', '100k') {
    my $msg = slurp("$work/msg-$size.eml");
    my $signed = slurp("$work/signed-rsa-$size.eml");
    my $sign = sub {
        my $s = Mail::DKIM::Signer->new(
            Algorithm => 'rsa-sha256', Method => 'relaxed/relaxed', Domain => $domain,
            Selector => $selector, Key => $key, Headers => $headers);
        $s->PRINT($msg);
        $s->CLOSE;
        my $sig = $s->signature or die "Mail::DKIM: sign failed\n";
        return $sig->as_string;
    };
    my $verify = sub {
        my $v = Mail::DKIM::Verifier->new;
        $v->PRINT($signed);
        $v->CLOSE;
        $v->result eq 'pass' or die "Mail::DKIM: rsa $size: " . $v->result_detail . "\n";
    };
    # Its own signature must verify before its signing rate counts.
    my $own = $sign->() . "\r\n" . $msg;
    my $check = Mail::DKIM::Verifier->new;
    $check->PRINT($own);
    $check->CLOSE;
    $check->result eq 'pass' or die "Mail::DKIM: own rsa $size signature: " . $check->result_detail . "\n";
    $out{rsa}{$size} = { sign => rate($sign), verify => rate($verify) };
}
print JSON::PP->new->canonical->encode(\%out), "\n";
