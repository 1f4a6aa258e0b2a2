#!/usr/bin/python3
"""bench/scan/gencorpus.py - the scanning benchmark's mail corpus and its
signatures (bench/scan/run.sh calls it; stdlib only, deterministic: the same
seed, count and Python/zlib give the same bytes).

    gencorpus.py --out DIR --sigs DIR --manifest FILE [--count N] [--seed S]

Writes N messages (default 6000), one RFC 5322 file each (DIR/NNNNNN.eml),
that look like the mail a 2003 gateway saw:

  ordinary mail (about 85%): plain text; text with an HTML alternative;
    newsletters (HTML with an inline image, multipart/related); replies and
    forwards (message/rfc822); delivery reports (multipart/report); and
    attachments: PDF (real object structure, a deflated text stream, a JPEG
    image), JPEG (JFIF headers, random entropy-coded data), PNG (a valid
    image: IHDR, deflated IDAT, CRCs), legacy Office files (OLE2 header,
    random sectors), DOCX/XLSX (real zip containers of XML), RTF, CSV, text,
    and zip files of such documents. Bodies are a few KB (the median message
    is about 3 KB); about 3% of the messages carry 100 KB - 2 MB attachments.
  worm mail (about 15%), in the Mimail style: a zip attachment holding an
    executable, in mail from admin@<the recipient's own domain> ("your
    account ... will be expiring"); the variants forging billing@spamhaus.org
    ("We are going to charge your credit card"), a colleague's meeting
    reminder, a photo offer, a PayPal "update your account" note; some with a
    bare .exe/.scr/.pif attachment instead of a zip, some with the EICAR test
    file. The executable is the harmless 544-byte test PE from
    clamav-testfiles (clam.exe): a third of the time as it is (the .hdb
    signature fires), otherwise with 16 B - 8 KB of random bytes appended so
    that its hash differs and only the body pattern fires.

--sigs DIR gets the benchmark's real signatures, in ClamAV's formats:
  rampart-test.hdb   Rampart.Test.ClamExe: clam.exe's MD5 and size
  rampart-test.ndb   Rampart.Test.ClamExe.Body: "CLAMessageBoxA" (an import
                     name inside clam.exe), target 1 (PE), any offset;
                     Rampart.Test.EICAR: the EICAR string, target 0
(clamscan and clamd print them with ".UNOFFICIAL" appended.)

--manifest FILE: one line per message, tab-separated: file name, expected
verdict (clean|infected), kind (plain, alt, attach, ..., worm-admin, ...),
the signatures that match it (comma-separated, "-" for none), its size.
"""

import argparse
import base64
import binascii
import hashlib
import io
import os
import random
import struct
import sys
import zipfile
import zlib

CLAM_EXE = "/usr/share/clamav-testfiles/clam.exe"
EICAR = (b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*")
BODY_PATTERN = b"CLAMessageBoxA"

WORDS = """
the of and to a in for is on that by this with you it not or be are from at as your all have new
more an was we will home can us about if page my has search free but our one other do no
information time they site he up may what which their news out use any there see only so his when
contact here business who web also now help get pm view online first am been would how were me
services some these click its like service than find price date back top people had list name just
over state year day into email two health world next used go work last most products music buy data
make them should product system post her city add policy number such please available copyright
support message after best software then jan good video well where info rights public books high
school through each links she review years order very privacy book items company read group need
many user said does set under general research university january mail full map reviews program
life know games way days management part could great united hotel real item international center
must store travel comments made development report off member details line terms before hotels did
send right type because local those using results office education national car design take posted
internet address community within states area want phone shipping reserved subject between forum
family long based code show even black check special prices website index being women much sign file
link open today technology south case project same pages uk version section own found sports house
related security both county american game members power while care network down computer systems
three total place end following download him without per access think north resources current posts
big media law control water history pictures size art personal since including guide shop directory
board location change white text small rating rate government children during return students
shopping account times sites level digital profile previous form events love old john main call
hours image department title description non insurance another why shall property class still money
quality every listing content country private little visit save tools low reply customer december
compare movies include college value article york man card jobs provide food source author different
press learn sale around print course job canada process room stock training too credit point
join science men categories advanced west sales look english left team estate box conditions select
windows photos thread week category note live large gallery table register however june october
november market library really action start series model features air industry plan human provided
yes required second hot accessories cost movie forums march la september better say questions july
yahoo going medical test friend come dec server pc study application cart staff articles san feedback
again play looking issues april never users complete street topic comment financial things working
against standard tax person below mobile less got blog party payment equipment login student let
programs offers legal above recent park stores side act problem red give memory performance social
august quote language story sell options experience rates create key body young america important
field few east paper single age activities club example additional password latest something
road gift question changes night hard texas oct pay four status browse issue range building
seller court february always result audio light write war nov offer blue groups easy given files
event release analysis request fax china making picture needs possible might professional yet month
major star areas future space committee hand sun cards problems london washington meeting become
interest id child keep enter california share similar garden schools million added reference
companies listed baby learning energy run delivery net popular term film stories put computers
journal reports co try welcome central images president notice god original head radio until cell
color self council away includes track australia discussion archive once others entertainment
agreement format least society months log safety friends sure faq trade edition cars messages
marketing tell further updated association able having provides david fun already green studies
close common drive specific several gold feb living sep collection called short arts lot ask display
limited powered solutions means director daily beach past natural whether due electronics five
upon period planning database says official weather mar land average done technical window france
pro region island record direct microsoft conference environment records st district calendar costs
style url front statement update parts aug ever downloads early miles sound resource present
applications either ago document word works material bill apr written talk federal hosting rules
final tickets thing centre requirements via cheap kids finance true minutes else mark third
rock gifts europe reading topics bad individual tips plus auto cover usually edit together videos
percent fast function fact unit getting global tech meet far economic en player projects lyrics
often subscribe submit germany amount watch included feel though bank risk thanks everything deals
various words linux jul production commercial james weight town heart advertising received choose
treatment newsletter archives points knowledge magazine error camera jun girl currently construction
toys registered clear golf receive domain methods chapter makes protection policies loan wide beauty
manager india position taken sort listings models michael known half cases step engineering florida
simple quick none wireless license paul friday lake whole annual published later basic sony shows
corporate google church method purchase customers active response practice hardware figure materials
fire holiday chat enough designed along among death writing speed html countries loss face brand
discount higher effects created remember standards oil bit yellow political increase advertise
kingdom base near environmental thought stuff french storage oh japan doing loans shoes entry stay
nature orders availability africa summary turn mean growth notes agency king monday european
activity copy although pics western income force cash employment overall bay river commission
ad package contents seen players engine port album regional stop supplies started administration
bar institute views plans double dog build screen exchange types soon sponsored lines electronic
continue across benefits needed season apply someone held ny anything printer condition effective
believe organization effect asked eur mind sunday selection pdf lost tour menu volume cross
anyone mortgage hope silver corporation wish inside solution role rather weeks addition came
supply nothing certain usr executive running lower necessary union jewelry according dc clothing mon
com particular fine names robert homepage hour gas skills six bush islands advice career military
rental decision leave british pre huge sat woman facilities zip bid kind sellers middle move
cable opportunities taking values division coming tuesday object appropriate machine logo
length actually nice score statistics client ok returns capital follow sample investment sent shown
saturday christmas england culture band flash ms lead george choice went starting registration fri
thursday courses consumer hi airport foreign artist outside furniture levels channel letter mode
phones ideas wednesday structure fund summer allow degree contract button releases wed homes super
male matter custom virginia almost took located multiple asian distribution editor inn industrial
cause potential song cnet ltd los hp focus late fall featured idea rooms female responsible inc
communications win associated thomas primary cancer numbers reason tool browser spring foundation
answer voice eg friendly schedule documents communication purpose feature bed comes police everyone
independent ip approach cameras brown physical operating hill maps medicine deal hold ratings
chicago forms glass happy tue smith wanted developed thank safe unique survey prior telephone sport
ready feed animal sources mexico population pa regular secure navigation operations therefore simply
evidence station christian round paypal favorite understand option master valley recently probably
thu rentals sea built publications blood cut worldwide improve connection publisher hall larger
anti networks earth parents nokia impact transfer introduction kitchen strong tel carolina wedding
properties hospital ground overview ship accommodation owners disease tx excellent paid italy perfect
hair opportunity kit classic basis command cities william express award distance tree peter
assessment ensure thus wall ie involved el extra especially interface partners budget rated
guides success maximum ma operation existing quite selected boy amazon patients restaurants
beautiful warning wine locations horse vote forward flowers stars significant lists technologies
owner retail animals useful directly manufacturer ways est son providing rule mac housing takes iii
gmt bring catalog searches max trying mother authority considered told xml traffic programme joined
input strategy feet agent valid bin modern senior ireland teaching door grand testing trial charge
units instead canadian cool normal wrote enterprise ships entire educational md leading metal
positive fl fitness chinese opinion mb asia football abstract uses output funds mr greater likely
develop employees artists alternative processing responsibility resolution java guest seems
publication pass relations trust van contains session multi photography republic fees components
vacation century academic assistance completed skin graphics indian prev ads mary il expected ring
grade pacific mountain organizations pop filter mailing vehicle longer consider int northern
behind panel floor german buying match proposed default require iraq boys outdoor deep morning
otherwise allows rest protein plant reported hit transportation mm pool mini politics partner
disclaimer authors boards faculty parties fish membership mission eye string sense modified pack
released stage internal goods recommended born unless richard detailed japanese race approved
background target except character usb maintenance ability maybe functions ed moving brands places
php pretty trademarks spain southern yourself etc winter battery youth pressure
submitted boston debt keywords medium television interested core break purposes throughout sets
dance wood msn itself defined papers playing awards fee studio reader virtual device established
answers rent las remote dark programming external apple le regarding instructions min offered theory
enjoy remove aid surface minimum visual host variety teachers isbn martin manual block subjects
agents increased repair fair civil steel understanding songs fixed wrong beginning hands associates
finally az updates desktop classes paris ohio gets sector capacity requires jersey un fat fully father
electric saw instruments quotes officer driver businesses dead respect unknown specified restaurant
mike trip pst worth mi procedures poor teacher eyes relationship workers farm georgia peace traditional
campus tom showing creative coast benefit progress funding devices lord grant sub agree fiction hear
sometimes watches careers beyond goes families led museum themselves fan transport interesting blogs
wife evaluation accepted former implementation ten hits zone complex th cat galleries references die
presented jack flat flow agencies literature respective parent spanish michigan columbia setting dr
scale stand economy highest helpful monthly critical frame musical definition secretary angeles
networking path australian employee chief gives bottom magazines packages detail francisco laws
changed pet heard begin individuals colorado royal clean switch russian largest african guy titles
relevant guidelines justice connect bible dev cup basket applied weekly vol installation described
demand pp suite vegas na square chris attention advance skip diet army auction gear lee os difference
allowed correct charles nation selling lots piece sheet firm seven older illinois regulations
elements species jump cells module resort facility random pricing dvds certificate minister motion
looks fashion directions visitors documentation monitor trading forest calls whose coverage couple
giving chance vision ball ending clients actions listen discuss accept automotive goal
successful sold wind communities clinical situation sciences markets lowest highly publishing
appear emergency developing lives currency leather determine temperature palm announcements patient
actual historical stone bob commerce perhaps persons difficult scientific satellite fit
tests village accounts ex met pain particularly factors coffee www settings buyer
cultural steve easily oral ford poster edge functional root au fi closed holidays ice pink zealand
balance monitoring graduate replies shot nc architecture initial label thinking scott llc sec
recommend canon league waste minute bus provider optional dictionary cold accounting manufacturing
sections chair fishing effort phase fields bag fantasy po letters motor va professor context install
shirt apparel generally continued foot mass crime count techniques ibm rd johnson sc quickly
dollars websites religion claim driving permission surgery patch heat wild measures generation kansas
miss chemical doctor task reduce brought himself nor component enable exercise bug santa mid guarantee
leader diamond israel se processes soft servers alone meetings seconds jones arizona keyword
interests flight congress fuel username walk produced italian paperback classifieds wait supported
pocket saint rose freedom argument competition creating jim joint premium providers fresh
characters attorney upgrade di factor growing thousands km stream apartments pick hearing eastern
auctions therapy entries dates generated signed upper administrative serious prime samsung limit
began louis steps errors shops efforts informed thoughts creek worked quantity urban practices sorted
reporting essential myself tours platform load affiliate labor immediately admin nursing defense
machines designated tags heavy covered recovery joe guys integrated configuration merchant
comprehensive expert universal protect drop solid cds presentation languages became orange
compliance vehicles prevent theme rich im campaign marine improvement vs guitar finding pennsylvania
examples ipod saying spirit ar claims challenge motorola acceptance strategies mo seem affairs
touch intended towards sa goals hire election suggest branch charges serve affiliates reasons magic
mount smart talking gave ones latin multimedia xp avoid certified manage corner rank computing
oregon element birth virus abuse interactive requests separate quarter procedure leadership tables
define racing religious facts breakfast kong column plants faith chain developer identify avenue
missing died approximately domestic sitemap recommendations moved houston reach comparison mental
viewed moment extended sequence inch attack sorry centers opening damage lab reserve recipes cvs
gamma plastic produce snow placed truth counter failure follows eu weekend dollar camp ontario
automatically des minnesota films bridge native fill williams movement printing baseball owned
approval draft chart played contacts cc jesus readers clubs lcd wa jackson equal adventure matching
offering shirts profit leaders posters institutions assistant variable ave dj advertisement expect
parking headlines yesterday compared determined wholesale workshop russia gone codes kinds extension
seattle statements golden completely teams fort cm wi lighting senate forces funny brother gene turned
portable tried electrical applicable disc returned pattern ct boat named theatre laser earlier
manufacturers sponsor classical icon warranty dedicated indiana direction harry basketball objects
ends delete evening assembly nuclear taxes mouse signal criminal issued brain wisconsin
powerful dream obtained false da cast flower felt personnel passed supplied identified falls pic soul
aids opinions promote stated stats hawaii professionals appears carry flag decided nj covers hr em
advantage hello designs maintain tourism priority newsletters clips savings iv graphic atom
payments rw estimated binding brief ended winning eight anonymous iron straight script served wants
miscellaneous prepared void dining alert integration atlanta dakota tag interview mix framework disk
installed queen vhs credits clearly fix handle sweet desk criteria pubmed dave massachusetts diego
associate hong vice constitution ray""".split()
# A few words that need a charset (latin-1) for the messages that carry them.
ACCENTED = ["café", "résumé", "Grüße", "Straße", "naïve", "señor", "déjà", "Müller", "façade", "Zürich"]

FIRST = ("James John Robert Michael William David Richard Joseph Thomas Charles Mary Patricia Linda "
         "Barbara Elizabeth Jennifer Maria Susan Margaret Dorothy Lisa Nancy Karen Betty Helen Sandra "
         "Donna Carol Ruth Sharon Michelle Laura Sarah Kimberly Deborah Jessica Shirley Cynthia Angela "
         "Melissa Brenda Amy Anna Rebecca Virginia Kathleen Hans Jürgen Klaus Pierre François Jean "
         "Marco Giulia Sven Ingrid Piotr Olga Dmitri Akira Kenji Wei Ravi Priya Carlos Lucía").split()
LAST = ("Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
        "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris "
        "Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill "
        "Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Schmidt Müller "
        "Dubois Rossi Johansson Kowalski Ivanov Tanaka Chen Patel Okafor Novak Horvat").split()
SYLL = ("ac me no va tel lin bor cor sys tec net dyn ami ber gal pro lux sol ter vis zen kor "
        "mar del fin cap tra nor ex ion mag ar ven ost").split()
TLDS = ["com", "com", "com", "net", "net", "org", "de", "co.uk", "edu", "fr", "nl", "com.au", "ca", "it"]
MAILERS = [
    "Microsoft Outlook Express 6.00.2800.1158",
    "Microsoft Outlook Express 6.00.2800.1106",
    "Microsoft Outlook, Build 10.0.4510",
    "Microsoft Outlook IMO, Build 9.0.2416 (9.0.2911.0)",
    "Microsoft Office Outlook, Build 11.0.5510",
    "QUALCOMM Windows Eudora Version 5.2.1",
    "QUALCOMM Windows Eudora Version 6.0.0.22",
    "The Bat! (v1.62r) Personal",
    "Lotus Notes Release 6.0.2CF1 June 9, 2003",
    "Apple Mail (2.552)",
    "Novell GroupWise Internet Agent 6.5.1",
]
AGENTS = [
    "Mozilla/5.0 (Windows; U; Windows NT 5.1; en-US; rv:1.5) Gecko/20031007",
    "Mozilla/5.0 (X11; U; Linux i686; en-US; rv:1.4) Gecko/20030624",
    "Mutt/1.4.1i",
    "Mutt/1.5.4i",
    "KMail/1.5.4",
    "Ximian Evolution 1.4.5",
    "Pine 4.58 (Linux)",
    "Gnus/5.1002 (Gnus v5.10.2) Emacs/21.3 (gnu/linux)",
    "SquirrelMail/1.4.1",
    "IMP/PHP IMAP webmail program 3.2.1",
]
MTAS = ["Postfix", "Sendmail 8.12.10/8.12.10", "Exim 4.24", "Microsoft SMTPSVC(5.0.2195.6713)",
        "qmail 1.03", "Sendmail 8.12.9/8.12.9", "Exim 3.36 #1"]
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
ZIPTIME = (2003, 11, 1, 12, 0, 0)


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)
        self.domains = []
        seen = set()
        while len(self.domains) < 400:
            d = "".join(self.r.choice(SYLL) for _ in range(self.r.randint(2, 3))) + "." + self.r.choice(TLDS)
            if d not in seen:
                seen.add(d)
                self.domains.append(d)
        self.serial = 0

    # ---- small pieces -----------------------------------------------------

    def person(self, domain=None):
        first, last = self.r.choice(FIRST), self.r.choice(LAST)
        domain = domain or self.r.choice(self.domains)
        style = self.r.randrange(4)
        local = {0: f"{first}.{last}", 1: f"{first[0]}{last}", 2: first, 3: f"{last}{self.r.randint(1, 99)}"}[style]
        local = local.lower().encode("ascii", "ignore").decode() or "user"
        return f"{first} {last}", f"{local}@{domain}"

    def addr(self, name, email):
        if not name or self.r.random() < 0.1:
            return email
        try:
            name.encode("ascii")
            return f'"{name}" <{email}>' if self.r.random() < 0.4 else f"{name} <{email}>"
        except UnicodeEncodeError:
            word = base64.b64encode(name.encode("latin-1")).decode()
            return f"=?iso-8859-1?B?{word}?= <{email}>"

    def date(self):
        """A time in Aug-Dec 2003 as (unix seconds, RFC 5322 string)."""
        t = 1059696000 + self.r.randrange(150 * 86400)
        return t, self.fmt_date(t, self.r.choice([-800, -700, -500, -400, 0, 0, 100, 100, 200, 900]))

    def fmt_date(self, t, tz):
        off = (tz // 100) * 3600 + (abs(tz) % 100) * 60 * (1 if tz >= 0 else -1)
        s = t + off
        days, rem = divmod(s, 86400)
        hh, rem = divmod(rem, 3600)
        mm, ss = divmod(rem, 60)
        y, mo, d = civil_from_days(days)
        wd = DAYS[(days + 3) % 7]
        sign = "+" if tz >= 0 else "-"
        return f"{wd}, {d} {MONTHS[mo - 1]} {y} {hh:02}:{mm:02}:{ss:02} {sign}{abs(tz):04}"

    def ip(self):
        a = self.r.choice([12, 24, 62, 63, 64, 65, 66, 67, 68, 80, 81, 82, 193, 194, 195, 200, 202, 203,
                           206, 207, 209, 210, 211, 212, 213, 216, 217, 218, 219, 220, 221])
        return f"{a}.{self.r.randrange(256)}.{self.r.randrange(256)}.{self.r.randrange(1, 255)}"

    def msgid(self, domain):
        self.serial += 1
        host = self.r.choice(["mail", "smtp", "mx1", "exchange", f"pc{self.r.randrange(99)}"])
        return f"<{self.r.getrandbits(48):012X}.{self.serial:06d}@{host}.{domain}>"

    def boundary(self):
        k = self.r.randrange(3)
        if k == 0:
            a, b, c = self.r.getrandbits(16), self.r.getrandbits(32), self.r.getrandbits(32)
            return f"----=_NextPart_000_{a:04X}_{b:08X}.{c:08X}"
        if k == 1:
            return f"------------{self.r.getrandbits(96):024X}"
        return f"=_{self.r.getrandbits(64):016x}"

    def received(self, t, from_dom, to_dom):
        hops = []
        host = f"{self.r.choice(['mail', 'smtp', 'mx', 'relay', 'out'])}{self.r.choice(['', '1', '2', '3'])}.{from_dom}"
        mx = f"mx{self.r.randint(1, 4)}.{to_dom}"
        qid = f"{self.r.getrandbits(40):010X}"
        hops.append(f"Received: from {host} ({host} [{self.ip()}])\r\n\tby {mx} ({self.r.choice(MTAS)}) "
                    f"with ESMTP id {qid}\r\n\tfor <{{rcpt}}>; {self.fmt_date(t + self.r.randint(1, 90), 0)}")
        if self.r.random() < 0.6:
            hops.append(f"Received: from [{self.ip()}] (helo=pc{self.r.randrange(200)})\r\n\tby {host} with "
                        f"{self.r.choice(['SMTP', 'ESMTP', 'esmtp (Exim 4.24)'])} id "
                        f"{self.r.getrandbits(32):08x}; {self.fmt_date(t, 0)}")
        if self.r.random() < 0.3:
            hops.insert(0, f"Received: by {mx.replace('mx', 'store')} (Postfix, from userid 0)\r\n\tid "
                           f"{self.r.getrandbits(36):09X}; {self.fmt_date(t + 120, 0)}")
        return hops

    def sentence(self):
        n = self.r.randint(5, 18)
        w = [self.r.choice(WORDS) for _ in range(n)]
        if self.r.random() < 0.02:
            w[self.r.randrange(n)] = self.r.choice(ACCENTED)
        s = " ".join(w)
        return s[0].upper() + s[1:] + self.r.choice([".", ".", ".", ".", "?", "!", ":"])

    def paragraph(self):
        return " ".join(self.sentence() for _ in range(self.r.randint(1, 6)))

    def text_body(self, target):
        """Plain text of about target bytes, wrapped at 72 columns."""
        name = self.r.choice(FIRST)
        out = [self.r.choice(["Hi", "Hello", "Dear", "Hi all,", "Good morning"]) + " " + name + ",", ""]
        size = 0
        while size < target:
            p = wrap(self.paragraph(), 72)
            out.append(p)
            out.append("")
            size += len(p) + 2
        out.append(self.r.choice(["Regards,", "Thanks,", "Best regards,", "Cheers,", "--"]))
        out.append(self.r.choice(FIRST))
        if self.r.random() < 0.3:
            out += ["", "-- ", f"{self.r.choice(FIRST)} {self.r.choice(LAST)}",
                    f"{self.r.choice(['Sales', 'IT', 'Accounts', 'Research', 'Support'])} department",
                    f"Phone: +1 {self.r.randint(200, 999)} {self.r.randint(200, 999)} {self.r.randint(1000, 9999)}"]
        return "\n".join(out) + "\n"

    def html_of(self, text):
        paras = [p for p in text.split("\n\n") if p.strip()]
        body = "".join(f"<P><FONT face=Arial size=2>{html_escape(p)}</FONT></P>\n" for p in paras)
        return ('<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.0 Transitional//EN">\n<HTML><HEAD>\n'
                '<META http-equiv=Content-Type content="text/html; charset=iso-8859-1">\n'
                '<META content="MSHTML 6.00.2800.1264" name=GENERATOR>\n<STYLE></STYLE>\n'
                f"</HEAD>\n<BODY bgColor=#ffffff>\n{body}</BODY></HTML>\n")

    def newsletter_html(self, target, cid):
        rows = []
        size = 0
        while size < target:
            h = " ".join(self.r.choice(WORDS) for _ in range(self.r.randint(3, 7))).title()
            p = html_escape(self.paragraph())
            link = f"http://www.{self.r.choice(self.domains)}/{self.r.choice(WORDS)}/{self.r.randrange(10**5)}.html"
            row = (f'<tr><td style="padding:8px;font-family:Verdana,sans-serif;font-size:12px">'
                   f'<h2 style="color:#003366">{h}</h2>\n<p>{p}</p>\n<a href="{link}">Read more</a></td></tr>\n')
            rows.append(row)
            size += len(row)
        return ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=us-ascii">'
                f'<title>{self.r.choice(WORDS).title()} Weekly</title></head>\n<body>\n'
                f'<table width="600" cellpadding="0" cellspacing="0" border="0">\n'
                f'<tr><td><img src="cid:{cid}" width="600" height="80" alt="logo"></td></tr>\n'
                + "".join(rows) +
                '<tr><td style="font-size:10px">To unsubscribe, reply with "unsubscribe" in the subject.'
                "</td></tr>\n</table></body></html>\n")

    def subject(self):
        k = self.r.random()
        words = " ".join(self.r.choice(WORDS) for _ in range(self.r.randint(2, 6)))
        s = words[0].upper() + words[1:]
        if k < 0.25:
            return "Re: " + s
        if k < 0.3:
            return "Fwd: " + s
        if k < 0.35:
            return "RE: " + s.upper()
        return s

    # ---- attachments ------------------------------------------------------

    def jpeg(self, size):
        w, h = self.r.choice([(640, 480), (800, 600), (1024, 768), (1600, 1200), (320, 240)])
        head = bytearray(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x01\x00\x48\x00\x48\x00\x00")
        if self.r.random() < 0.5:
            exif = b"Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x00" + self.r.randbytes(40)
            head += b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif
        for t in range(2):
            head += b"\xff\xdb\x00\x43" + bytes([t]) + bytes(self.r.randint(1, 60) for _ in range(64))
        head += b"\xff\xc0\x00\x11\x08" + struct.pack(">HH", h, w) + b"\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01"
        for cls, n in ((0x00, 12), (0x10, 162), (0x01, 12), (0x11, 162)):
            counts = [0] * 16
            left = n
            for i in range(16):
                c = min(left, self.r.randint(0, 1 << min(i + 1, 6)))
                counts[i] = c
                left -= c
            counts[15] += left
            table = bytes([cls]) + bytes(counts) + self.r.randbytes(n)
            head += b"\xff\xc4" + struct.pack(">H", len(table) + 2) + table
        head += b"\xff\xda\x00\x0c\x03\x01\x00\x02\x11\x03\x11\x00\x3f\x00"
        data = self.r.randbytes(max(64, size - len(head) - 2)).replace(b"\xff", b"\xff\x00")
        return bytes(head) + data + b"\xff\xd9"

    def png(self, size):
        w = self.r.choice([64, 128, 200, 320, 480, 640, 800])
        raw_row = w * 3 + 1
        h = max(1, size // raw_row)

        def chunk(kind, data):
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        rows = bytearray()
        noise = self.r.randbytes(h * w * 3)
        for y in range(h):
            rows.append(self.r.choice([0, 1, 2]))
            rows += noise[y * w * 3:(y + 1) * w * 3]
        return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                + chunk(b"tEXt", b"Software\x00Adobe ImageReady")
                + chunk(b"IDAT", zlib.compress(bytes(rows), 1)) + chunk(b"IEND", b""))

    def pdf(self, size):
        text = [f"BT /F1 11 Tf 72 {720 - 14 * i} Td ({pdf_escape(self.sentence())}) Tj ET" for i in range(40)]
        content = zlib.compress("\n".join(text).encode("latin-1", "replace"))
        img = self.jpeg(max(2000, size - 3000))
        objs = [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> /XObject << /Im1 6 0 R >> >> >>",
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(content) + content + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
            b"<< /Type /XObject /Subtype /Image /Width 640 /Height 480 /ColorSpace /DeviceRGB "
            b"/BitsPerComponent 8 /Filter /DCTDecode /Length %d >>\nstream\n" % len(img) + img + b"\nendstream",
            b"<< /Producer (Acrobat Distiller 5.0.5 \\(Windows\\)) /CreationDate (D:20031015093012) >>",
        ]
        out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
        offsets = []
        for i, o in enumerate(objs, 1):
            offsets.append(len(out))
            out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
        xref = len(out)
        out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
        for off in offsets:
            out += b"%010d 00000 n \n" % off
        out += b"trailer\n<< /Size %d /Root 1 0 R /Info 7 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
        return bytes(out)

    def ole2(self, size):
        sectors = max(8, size // 512)
        head = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(16) + struct.pack("<HHHHH", 0x3e, 3, 0xfffe, 9, 6)
                + bytes(6) + struct.pack("<IIIIIIIII", 0, 1, sectors - 2, 0, 0x1000, 0xfffffffe, 0,
                                         0xfffffffe, 0))
        fat_index = struct.pack("<I", 0) + b"\xff\xff\xff\xff" * 108
        head = (head + fat_index)[:512]
        head += bytes(512 - len(head))
        return head + self.r.randbytes((sectors - 1) * 512)

    def ooxml(self, kind, size):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            def put(name, text):
                z.writestr(zipfile.ZipInfo(name, ZIPTIME), text, compress_type=zipfile.ZIP_DEFLATED)
            main = "word/document.xml" if kind == "docx" else "xl/worksheets/sheet1.xml"
            ctype = ("application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
                     if kind == "docx" else
                     "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml")
            put("[Content_Types].xml",
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="http://schemas.'
                'openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="'
                'application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
                f'ContentType="application/xml"/><Override PartName="/{main}" ContentType="{ctype}"/></Types>')
            put("_rels/.rels",
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://'
                'schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http:'
                '//schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
                f'Target="{main}"/></Relationships>')
            parts = []
            n = 0
            while n < size * 3:
                if kind == "docx":
                    p = f"<w:p><w:r><w:t>{html_escape(self.paragraph())}</w:t></w:r></w:p>"
                else:
                    cells = "".join(f'<c t="n"><v>{self.r.randrange(10**6)}</v></c>' for _ in range(8))
                    p = f"<row>{cells}</row>"
                parts.append(p)
                n += len(p)
            if kind == "docx":
                doc = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document xmlns:w="http://'
                       'schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
                       + "".join(parts) + "</w:body></w:document>")
            else:
                doc = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="http://'
                       'schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
                       + "".join(parts) + "</sheetData></worksheet>")
            put(main, doc)
            put("docProps/app.xml", '<?xml version="1.0"?><Properties><Application>Microsoft Office Word'
                                    '</Application></Properties>')
        return buf.getvalue()

    def rtf(self, size):
        paras = []
        n = 0
        while n < size:
            p = "\\pard\\f0\\fs20 " + rtf_escape(self.paragraph()) + "\\par\n"
            paras.append(p)
            n += len(p)
        return ("{\\rtf1\\ansi\\ansicpg1252\\deff0{\\fonttbl{\\f0\\fswiss Arial;}}\n"
                "{\\info{\\author " + self.r.choice(FIRST) + "}}\n" + "".join(paras) + "}\n").encode("latin-1")

    def csv(self, size):
        cols = self.r.sample(["date", "account", "amount", "region", "item", "qty", "price", "status", "id"], 5)
        lines = [",".join(cols)]
        n = 0
        while n < size:
            row = ",".join(str(self.r.randrange(10**5)) if self.r.random() < 0.6 else self.r.choice(WORDS)
                           for _ in cols)
            lines.append(row)
            n += len(row) + 2
        return ("\r\n".join(lines) + "\r\n").encode()

    def document(self, size):
        """(file name, content type, bytes) of one random document type."""
        kind = self.r.choices(["pdf", "jpg", "png", "doc", "xls", "docx", "xlsx", "rtf", "txt", "csv"],
                              [18, 16, 6, 12, 6, 10, 4, 4, 14, 10])[0]
        stem = self.r.choice(["report", "invoice", "minutes", "budget", "photo", "scan", "agenda", "proposal",
                              "contract", "notes", "summary", "IMG_", "DSC", "presentation", "price_list"])
        stem += str(self.r.randrange(1000)) if stem in ("IMG_", "DSC") else self.r.choice(["", "_2003",
                                                                                         "_final", "_v2", ""])
        if kind == "pdf":
            return stem + ".pdf", "application/pdf", self.pdf(size)
        if kind == "jpg":
            return stem + ".jpg", "image/jpeg", self.jpeg(size)
        if kind == "png":
            return stem + ".png", "image/png", self.png(size)
        if kind in ("doc", "xls"):
            ct = "application/msword" if kind == "doc" else "application/vnd.ms-excel"
            return f"{stem}.{kind}", ct, self.ole2(size)
        if kind in ("docx", "xlsx"):
            ct = ("application/vnd.openxmlformats-officedocument.wordprocessingml.document" if kind == "docx"
                  else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
            return f"{stem}.{kind}", ct, self.ooxml(kind, size)
        if kind == "rtf":
            return stem + ".rtf", "application/rtf", self.rtf(size)
        if kind == "csv":
            return stem + ".csv", "text/csv", self.csv(size)
        return stem + ".txt", "text/plain", self.text_body(size).replace("\n", "\r\n").encode("latin-1")

    def zip_of(self, members):
        """A zip of (name, bytes) members; deflated, fixed timestamps."""
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            for name, data in members:
                info = zipfile.ZipInfo(name, ZIPTIME)
                info.external_attr = 0o644 << 16
                z.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
        return buf.getvalue()

    def attach_size(self, big):
        if big:
            return int(100_000 * 20 ** self.r.random())        # 100 KB - 2 MB, log-uniform
        return int(4_000 * 25 ** self.r.random())              # 4 - 100 KB, log-uniform

    def clam_exe(self, clam, exact):
        if exact:
            return clam
        return clam + self.r.randbytes(int(16 * 512 ** self.r.random()))   # 16 B - 8 KB tail


# ---- MIME assembly ---------------------------------------------------------

def civil_from_days(z):
    """(year, month, day) of a day count since 1970-01-01 (Howard Hinnant's algorithm)."""
    z += 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return y + (m <= 2), m, d


def wrap(text, width):
    lines, line = [], ""
    for w in text.split():
        if line and len(line) + 1 + len(w) > width:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}" if line else w
    if line:
        lines.append(line)
    return "\n".join(lines)


def html_escape(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def pdf_escape(s):
    return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def rtf_escape(s):
    out = []
    for ch in s:
        if ch in "\\{}":
            out.append("\\" + ch)
        elif ord(ch) > 127:
            out.append("\\'%02x" % (ord(ch) & 0xff))
        else:
            out.append(ch)
    return "".join(out)


def text_part(text, subtype="plain"):
    """A text leaf: 7bit if ASCII, else quoted-printable latin-1."""
    try:
        raw = text.encode("ascii")
        if max((len(x) for x in raw.split(b"\n")), default=0) <= 998:
            body = raw.replace(b"\n", b"\r\n")
            return [f"Content-Type: text/{subtype}; charset=us-ascii", "Content-Transfer-Encoding: 7bit"], body
    except UnicodeEncodeError:
        pass
    raw = text.encode("latin-1", "replace")
    body = binascii.b2a_qp(raw, istext=True).replace(b"\n", b"\r\n")
    return [f"Content-Type: text/{subtype}; charset=iso-8859-1",
            "Content-Transfer-Encoding: quoted-printable"], body


def b64_part(ctype, name, data, disposition="attachment", extra=()):
    body = base64.encodebytes(data).replace(b"\n", b"\r\n")
    head = [f'Content-Type: {ctype};\r\n\tname="{name}"', "Content-Transfer-Encoding: base64"]
    if disposition:
        head.append(f'Content-Disposition: {disposition};\r\n\tfilename="{name}"')
    return head + list(extra), body


def multipart(subtype, boundary, parts, preamble=True, extra=""):
    out = bytearray()
    if preamble:
        out += b"This is a multi-part message in MIME format.\r\n\r\n"
    for head, body in parts:
        out += b"--" + boundary.encode() + b"\r\n" + "\r\n".join(head).encode() + b"\r\n\r\n" + body
        if not body.endswith(b"\r\n"):
            out += b"\r\n"
        out += b"\r\n"
    out += b"--" + boundary.encode() + b"--\r\n"
    return [f'Content-Type: multipart/{subtype};{extra}\r\n\tboundary="{boundary}"'], bytes(out)


# ---- whole messages --------------------------------------------------------

def headers(g, t, date, frm, to, subject, top_head, *, mailer=True, cc=None, extra=(), reply=False,
            received=True):
    to_dom = to[1].split("@")[1]
    frm_dom = frm[1].split("@")[1]
    h = []
    if received:
        h.append(f"Return-Path: <{frm[1]}>")
        h += [x.replace("{rcpt}", to[1]) for x in g.received(t, frm_dom, to_dom)]
    h.append(f"Message-ID: {g.msgid(frm_dom)}")
    h.append(f"From: {g.addr(*frm)}")
    h.append(f"To: {g.addr(*to)}")
    if cc:
        h.append("Cc: " + ",\r\n\t".join(g.addr(*c) for c in cc))
    if reply:
        ref = g.msgid(to_dom)
        h.append(f"In-Reply-To: {ref}")
        h.append(f"References: {ref}")
    h.append(f"Subject: {encode_subject(subject)}")
    h.append(f"Date: {date}")
    h.append("MIME-Version: 1.0")
    h += top_head
    if mailer:
        if g.r.random() < 0.6:
            mailer = g.r.choice(MAILERS)
            h.append(f"X-Mailer: {mailer}")
            if mailer.startswith("Microsoft") and g.r.random() < 0.7:
                h.append("X-MimeOLE: Produced By Microsoft MimeOLE V6.00.2800.1165")
        else:
            h.append(f"User-Agent: {g.r.choice(AGENTS)}")
        if g.r.random() < 0.3:
            h.append(f"X-Priority: {g.r.choice([1, 3, 3, 5])}")
    h += list(extra)
    return h


def encode_subject(s):
    try:
        s.encode("ascii")
        return s
    except UnicodeEncodeError:
        return "=?iso-8859-1?Q?" + binascii.b2a_qp(s.encode("latin-1", "replace"), header=True).decode() \
            .replace("?", "=3F").replace(" ", "_") + "?="


def assemble(head, body):
    return "\r\n".join(head).encode() + b"\r\n\r\n" + body


def clean_message(g, kind):
    rcpt_dom = g.r.choice(g.domains)
    to = g.person(rcpt_dom)
    frm = g.person()
    t, date = g.date()
    subject = g.subject()
    cc = [g.person() for _ in range(g.r.randint(1, 3))] if g.r.random() < 0.2 else None
    text = g.text_body(int(300 * 20 ** g.r.random()))            # 0.3 - 6 KB of text
    extra = []
    if kind == "plain":
        top, body = text_part(text)
    elif kind == "alt":
        top, body = multipart("alternative", g.boundary(), [text_part(text), text_part(g.html_of(text), "html")])
    elif kind == "newsletter":
        frm = ("", f"{g.r.choice(['news', 'newsletter', 'offers', 'updates'])}@{g.r.choice(g.domains)}")
        cid = f"logo{g.r.getrandbits(32):08x}@{frm[1].split('@')[1]}"
        html = g.newsletter_html(int(2000 * 10 ** g.r.random()), cid)
        logo = g.png(int(3000 * 5 ** g.r.random())) if g.r.random() < 0.5 else g.jpeg(int(3000 * 5 ** g.r.random()))
        ltype = "image/png" if logo.startswith(b"\x89PNG") else "image/jpeg"
        img = b64_part(ltype, "logo." + ltype[6:].replace("jpeg", "jpg"), logo, disposition="inline",
                       extra=[f"Content-ID: <{cid}>"])
        related = multipart("related", g.boundary(), [text_part(html, "html"), img], preamble=False,
                            extra=' type="text/html";')
        top, body = multipart("alternative", g.boundary(), [text_part(text), related])
        subject = f"{g.r.choice(WORDS).title()} Weekly, issue {g.r.randint(1, 180)}"
        cc = None
        extra = [f"List-Id: <{g.r.choice(WORDS)}.{frm[1].split('@')[1]}>",
                 f"List-Unsubscribe: <mailto:leave@{frm[1].split('@')[1]}>", "Precedence: bulk"]
    elif kind in ("attach", "big"):
        first = text_part(text) if g.r.random() < 0.6 else multipart(
            "alternative", g.boundary(), [text_part(text), text_part(g.html_of(text), "html")], preamble=False)
        parts = [first]
        for i in range(1 if kind == "big" else g.r.choices([1, 2, 3], [70, 22, 8])[0]):
            name, ct, data = g.document(g.attach_size(kind == "big" and i == 0))
            if ct.startswith("text/") and g.r.random() < 0.5:
                head, b = text_part(data.decode("latin-1").replace("\r\n", "\n"), ct[5:])
                parts.append((head + [f'Content-Disposition: attachment;\r\n\tfilename="{name}"'], b))
            else:
                parts.append(b64_part(ct, name, data))
        top, body = multipart("mixed", g.boundary(), parts)
    elif kind == "zipdocs":
        members = [g.document(g.attach_size(False))[::2] for _ in range(g.r.randint(1, 4))]
        data = g.zip_of([(n, d) for n, d in members])
        name = g.r.choice(["documents", "files", "reports", "scans", "photos", "archive"]) + ".zip"
        parts = [text_part(text), b64_part(g.r.choice(["application/zip", "application/x-zip-compressed"]),
                                           name, data)]
        top, body = multipart("mixed", g.boundary(), parts)
    elif kind == "forward":
        inner = clean_message(g, g.r.choice(["plain", "alt", "attach"]))[0]
        parts = [text_part(g.text_body(300)), (["Content-Type: message/rfc822",
                                                 "Content-Disposition: attachment"], inner)]
        top, body = multipart("mixed", g.boundary(), parts)
        subject = "Fwd: " + subject
    elif kind == "dsn":
        frm = ("Mail Delivery Subsystem", f"MAILER-DAEMON@mx1.{rcpt_dom}")
        orig = clean_message(g, "plain")[0]
        orig_head = orig.split(b"\r\n\r\n", 1)[0] + b"\r\n"
        human = text_part("The original message was received but could not be delivered to one or more "
                          "recipients.\n\n   ----- The following addresses had permanent fatal errors -----\n"
                          f"<{g.person()[1]}>\n    (reason: 550 5.1.1 User unknown)\n")
        status = (["Content-Type: message/delivery-status"],
                  (f"Reporting-MTA: dns; mx1.{rcpt_dom}\r\nArrival-Date: {date}\r\n\r\n"
                   f"Final-Recipient: RFC822; {g.person()[1]}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
                   "Diagnostic-Code: SMTP; 550 5.1.1 User unknown\r\n").encode())
        top, body = multipart("report", g.boundary(), [human, status,
                                                      (["Content-Type: text/rfc822-headers"], orig_head)],
                              preamble=False, extra=" report-type=delivery-status;")
        subject = "Returned mail: see transcript for details"
    else:
        raise ValueError(kind)
    head = headers(g, t, date, frm, to, subject, top, cc=cc, extra=extra,
                   reply=subject.lower().startswith("re:"))
    return assemble(head, body), None


WORM_TEXT = {
    "admin": ("your account {rcpt}",
              "Hello there,\n\nI would like to inform you about important information regarding your\n"
              "email address. This email address will be expiring.\nPlease read attachment for details.\n\n"
              "--- Best regards, Administrator\n"),
    "billing": ("We are going to charge your credit card",
                "Dear Sir,\n\nThank you for signing up for our service. As agreed, we will bill your\n"
                "credit card for amount of $22.95 on a weekly basis. Your order is already\n"
                "on the way to your billing address.\n\nIf you did not place this order, or wish to cancel\n"
                "it, please fill in the form in the attached file and send it back to us.\n\n"
                "Billing department\n"),
    "meeting": ("Re: Don't forget about our meeting",
                "Hi,\n\nDon't forget about the meeting tomorrow. I put the agenda and the list\n"
                "of what we have to prepare in the attached file, please read it before.\n\n"
                "See you there,\n{name}\n"),
    "photos": ("Re[2]: our private photos",
               "Hello Dear!,\n\nFinally, I've found possibility to write to you. I've sent you the photos\n"
               "I promised, they are in the attachment. Please don't show them to anyone.\n\n"
               "Kisses,\n{name}\n"),
    "paypal": ("IMPORTANT",
               "Dear PayPal member,\n\nPayPal is constantly working to protect your account. We have\n"
               "noticed unusual activity and need you to confirm your details. Run the\n"
               "attached program and follow its instructions, or your account will be\n"
               "suspended.\n\nThank you for using PayPal!\n"),
    "bare": ("Re: {word}",
             "Please see the attached file for details.\n"),
    "eicar": ("{subject}",
              "{text}"),
}
WORM_NAMES = {
    "admin": (["message.zip", "account.zip", "details.zip"],
              ["message.html" + " " * 60 + ".exe", "message.htm.exe", "account_details.txt.pif", "readme.exe"]),
    "billing": (["card.zip", "order.zip", "cancel.zip"],
                ["www.spamhaus.org.exe", "order_form.exe", "cancel_order.pif"]),
    "meeting": (["agenda.zip", "meeting.zip"], ["agenda.doc.scr", "meeting_notes.exe", "list.txt.pif"]),
    "photos": (["photos.zip", "private.zip", "pics.zip"], ["photos.jpg.exe", "me_and_you.jpg.pif",
                                                         "summer2003.scr"]),
    "paypal": (["paypal.zip"], ["www.paypal.com.scr", "paypal_update.exe"]),
    "bare": ([], ["document.exe", "application.scr", "details.pif", "your_file.exe", "screensaver.scr",
                  "movie.mpg.pif", "readme.txt.exe"]),
}


def worm_message(g, kind, clam):
    rcpt_dom = g.r.choice(g.domains)
    to = g.person(rcpt_dom)
    t, date = g.date()
    colleague = g.person(rcpt_dom)
    frm = {"admin": ("", f"admin@{rcpt_dom}"), "billing": ("", "billing@spamhaus.org"),
           "meeting": colleague, "photos": g.person(), "paypal": ("PayPal", "do_not_reply@paypal.com"),
           "bare": g.person(), "eicar": g.person()}[kind]
    subject, text = WORM_TEXT[kind]
    fill = {"rcpt": to[1], "name": colleague[0].split()[0], "word": g.r.choice(WORDS),
            "subject": g.subject(), "text": g.text_body(g.r.randint(200, 1500))}
    subject, text = subject.format(**fill), text.format(**fill)
    exact = g.r.random() < 1 / 3
    if kind == "eicar":
        name = g.r.choice(["eicar.com", "eicar.txt", "test.com", "eicar_com.zip"])
        data = EICAR if not name.endswith(".zip") else g.zip_of([("eicar.com", EICAR)])
        ctype = "application/zip" if name.endswith(".zip") else "application/octet-stream"
        inline = name.endswith(".txt") and g.r.random() < 0.5
        parts = [text_part(text), b64_part(ctype, name, data) if not inline else
                 (["Content-Type: text/plain; charset=us-ascii", "Content-Transfer-Encoding: 7bit",
                   f'Content-Disposition: attachment; filename="{name}"'], EICAR + b"\r\n")]
        sig = "Rampart.Test.EICAR"
    else:
        zips, members = WORM_NAMES[kind]
        exe = g.clam_exe(clam, exact)
        member = g.r.choice(members)
        if kind == "bare":
            att = b64_part("application/octet-stream", member, exe)
        else:
            content = [(member, exe)]
            if kind == "admin" and g.r.random() < 0.3:
                content.insert(0, ("message.txt", b"Please run the attached program to keep your account.\r\n"))
            att = b64_part(g.r.choice(["application/octet-stream", "application/x-zip-compressed"]),
                           g.r.choice(zips), g.zip_of(content))
        parts = [text_part(text), att]
        # The exact file is matched by both its hash and its body pattern.
        sig = "Rampart.Test.ClamExe,Rampart.Test.ClamExe.Body" if exact else "Rampart.Test.ClamExe.Body"
    top, body = multipart("mixed", g.boundary(), parts, preamble=g.r.random() < 0.5)
    # The worm's own SMTP engine wrote few headers; its relays added the Received lines.
    head = headers(g, t, date, frm, to, subject, top, mailer=g.r.random() < 0.4,
                   received=g.r.random() < 0.8)
    return assemble(head, body), sig


CLEAN_KINDS = ["plain", "alt", "newsletter", "attach", "big", "zipdocs", "forward", "dsn"]
CLEAN_WEIGHTS = [36, 24, 6, 18, 3.5, 5, 4, 1.5]
WORM_KINDS = ["admin", "billing", "meeting", "photos", "paypal", "bare", "eicar"]
WORM_WEIGHTS = [30, 15, 12, 12, 6, 15, 10]


def write_sigs(sigdir, clam):
    os.makedirs(sigdir, exist_ok=True)
    with open(os.path.join(sigdir, "rampart-test.hdb"), "w") as f:
        f.write(f"{hashlib.md5(clam).hexdigest()}:{len(clam)}:Rampart.Test.ClamExe\n")
    with open(os.path.join(sigdir, "rampart-test.ndb"), "w") as f:
        f.write(f"Rampart.Test.ClamExe.Body:1:*:{BODY_PATTERN.hex()}\n")
        f.write(f"Rampart.Test.EICAR:0:*:{EICAR.hex()}\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--sigs", required=True)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--count", type=int, default=6000)
    ap.add_argument("--seed", type=int, default=20031)
    ap.add_argument("--worm-share", type=float, default=0.15)
    a = ap.parse_args()
    with open(CLAM_EXE, "rb") as f:
        clam = f.read()
    if BODY_PATTERN not in clam:
        sys.exit(f"gencorpus: {CLAM_EXE} does not contain {BODY_PATTERN!r}")
    write_sigs(a.sigs, clam)
    os.makedirs(a.out, exist_ok=True)
    g = Gen(a.seed)
    seen = set()
    total = 0
    rows = []
    # Exactly round(count * share) worm messages, at random places.
    worm_at = set(g.r.sample(range(a.count), round(a.count * a.worm_share)))
    for i in range(a.count):
        if i in worm_at:
            kind = g.r.choices(WORM_KINDS, WORM_WEIGHTS)[0]
            msg, sig = worm_message(g, kind, clam)
            kind = "worm-" + kind
        else:
            kind = g.r.choices(CLEAN_KINDS, CLEAN_WEIGHTS)[0]
            msg, sig = clean_message(g, kind)
        digest = hashlib.sha256(msg).digest()
        if digest in seen:
            sys.exit(f"gencorpus: message {i} duplicates an earlier one")
        seen.add(digest)
        name = f"{i:06d}.eml"
        with open(os.path.join(a.out, name), "wb") as f:
            f.write(msg)
        total += len(msg)
        rows.append(f"{name}\t{'infected' if sig else 'clean'}\t{kind}\t{sig or '-'}\t{len(msg)}\n")
    with open(a.manifest, "w") as f:
        f.write("# file\texpected\tkind\tsignature\tbytes\n")
        f.writelines(rows)
    worms = sum(1 for r in rows if "\tinfected\t" in r)
    print(f"gencorpus: {a.count} messages, {total / 2**20:.1f} MiB, {worms} worm mail, seed {a.seed}")


if __name__ == "__main__":
    main()
