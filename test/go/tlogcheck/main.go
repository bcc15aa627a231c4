// tlogcheck: an independent verifier of rbnet's transparency log, written against Go's
// golang.org/x/mod/sumdb/note (signed notes) and golang.org/x/mod/sumdb/tlog (RFC 6962 proofs and
// tiles), not against rbnet's TypeScript. It reads test vectors as JSON (argument 1) and prints,
// for every vector, whether it verified and why not. Cosignatures (type 0x04, cosignature/v1) are
// checked with crypto/ed25519 against the C2SP tlog-cosignature message format, since x/mod's
// note verifier knows only Ed25519 note keys (type 0x01).
//
// Build and run (Debian's golang-go and golang-golang-x-mod-dev, offline, GOPATH mode):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go run test/go/tlogcheck/main.go vectors.json
package main

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type witnessKey struct {
	Name string `json:"name"`
	Vkey string `json:"vkey"`
}

type checkpointVector struct {
	ID   string `json:"id"`
	Note string `json:"note"`
}

type inclusionVector struct {
	ID    string   `json:"id"`
	Index int64    `json:"index"`
	Size  int64    `json:"size"`
	Entry string   `json:"entry"`
	Proof []string `json:"proof"`
	Root  string   `json:"root"`
}

type consistencyVector struct {
	ID      string   `json:"id"`
	OldSize int64    `json:"oldSize"`
	NewSize int64    `json:"newSize"`
	OldRoot string   `json:"oldRoot"`
	NewRoot string   `json:"newRoot"`
	Proof   []string `json:"proof"`
}

type tileTreeVector struct {
	ID          string              `json:"id"`
	Dir         string              `json:"dir"`
	Size        int64               `json:"size"`
	Root        string              `json:"root"`
	Inclusion   []inclusionVector   `json:"inclusion"`
	Consistency []consistencyVector `json:"consistency"`
}

type tilePathVector struct {
	Level int    `json:"level"`
	Index int64  `json:"index"`
	Width int    `json:"width"`
	Path  string `json:"path"`
}

type vectors struct {
	LogVkey     string              `json:"logVkey"`
	Witnesses   []witnessKey        `json:"witnesses"`
	Checkpoints []checkpointVector  `json:"checkpoints"`
	Inclusion   []inclusionVector   `json:"inclusion"`
	Consistency []consistencyVector `json:"consistency"`
	TileTrees   []tileTreeVector    `json:"tileTrees"`
	TilePaths   []tilePathVector    `json:"tilePaths"`
}

type verdict struct {
	OK       bool     `json:"ok"`
	Error    string   `json:"error,omitempty"`
	Origin   string   `json:"origin,omitempty"`
	Size     int64    `json:"size,omitempty"`
	Root     string   `json:"root,omitempty"`
	Cosigned []string `json:"cosigned,omitempty"`
}

func outcome(err error) verdict {
	if err != nil {
		return verdict{OK: false, Error: err.Error()}
	}
	return verdict{OK: true}
}

func main() {
	raw, err := os.ReadFile(os.Args[1])
	if err != nil {
		fail(err)
	}
	var v vectors
	if err := json.Unmarshal(raw, &v); err != nil {
		fail(err)
	}
	logVerifier, err := note.NewVerifier(v.LogVkey)
	if err != nil {
		fail(fmt.Errorf("log vkey: %v", err))
	}
	witnesses := make([]cosigner, 0, len(v.Witnesses))
	for _, w := range v.Witnesses {
		c, err := parseCosignerVkey(w.Vkey)
		if err != nil {
			fail(fmt.Errorf("witness %s: %v", w.Name, err))
		}
		witnesses = append(witnesses, c)
	}
	results := map[string]verdict{}
	for _, c := range v.Checkpoints {
		results[c.ID] = checkCheckpoint(c.Note, logVerifier, witnesses)
	}
	for _, i := range v.Inclusion {
		results[i.ID] = outcome(checkInclusion(i))
	}
	for _, c := range v.Consistency {
		results[c.ID] = outcome(checkConsistency(c))
	}
	for _, t := range v.TileTrees {
		for id, r := range checkTileTree(t) {
			results[id] = r
		}
	}
	for i, p := range v.TilePaths {
		got := c2spPath(tlog.Tile{H: 8, L: p.Level, N: p.Index, W: p.Width})
		if got != p.Path {
			results[fmt.Sprintf("tile-path-%d", i)] = verdict{OK: false, Error: fmt.Sprintf("go says %s", got)}
		} else {
			results[fmt.Sprintf("tile-path-%d", i)] = verdict{OK: true}
		}
	}
	out, _ := json.Marshal(results)
	fmt.Println(string(out))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "tlogcheck:", err)
	os.Exit(2)
}

// A witness key from its vkey: <name>+<hex key ID>+<base64(0x04 || 32-byte Ed25519 key)>.
type cosigner struct {
	name string
	hash uint32
	key  ed25519.PublicKey
}

func parseCosignerVkey(vkey string) (cosigner, error) {
	parts := strings.SplitN(vkey, "+", 3)
	if len(parts) != 3 {
		return cosigner{}, errors.New("malformed vkey")
	}
	material, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(material) != 33 || material[0] != 0x04 {
		return cosigner{}, errors.New("not a cosignature/v1 Ed25519 key")
	}
	h := sha256.New()
	h.Write([]byte(parts[0] + "\n"))
	h.Write(material)
	hash := binary.BigEndian.Uint32(h.Sum(nil)[:4])
	if fmt.Sprintf("%08x", hash) != parts[1] {
		return cosigner{}, errors.New("key ID does not match")
	}
	return cosigner{name: parts[0], hash: hash, key: ed25519.PublicKey(material[1:])}, nil
}

func checkCheckpoint(text string, log note.Verifier, witnesses []cosigner) verdict {
	n, err := note.Open([]byte(text), note.VerifierList(log))
	if err != nil {
		return outcome(err)
	}
	lines := strings.Split(strings.TrimSuffix(n.Text, "\n"), "\n")
	if len(lines) < 3 {
		return outcome(errors.New("checkpoint text has fewer than 3 lines"))
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		return outcome(errors.New("bad tree size line"))
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != 32 {
		return outcome(errors.New("bad root hash line"))
	}
	if lines[0] != log.Name() {
		return outcome(fmt.Errorf("origin %q is not the log key's name %q", lines[0], log.Name()))
	}
	var cosigned []string
	for _, sig := range n.UnverifiedSigs {
		for _, w := range witnesses {
			if sig.Name != w.name || sig.Hash != w.hash {
				continue
			}
			raw, err := base64.StdEncoding.DecodeString(sig.Base64)
			if err != nil || len(raw) != 4+8+64 {
				return outcome(fmt.Errorf("cosignature by %s is malformed", w.name))
			}
			timestamp := binary.BigEndian.Uint64(raw[4:12])
			message := fmt.Sprintf("cosignature/v1\ntime %d\n%s", timestamp, n.Text)
			if !ed25519.Verify(w.key, []byte(message), raw[12:]) {
				return outcome(fmt.Errorf("cosignature by %s does not verify", w.name))
			}
			cosigned = append(cosigned, w.name)
		}
	}
	return verdict{OK: true, Origin: lines[0], Size: size, Root: lines[2], Cosigned: cosigned}
}

func hashes(list []string) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(list))
	for i, s := range list {
		h, err := tlog.ParseHash(s)
		if err != nil {
			return nil, err
		}
		out[i] = h
	}
	return out, nil
}

func checkInclusion(v inclusionVector) error {
	proof, err := hashes(v.Proof)
	if err != nil {
		return err
	}
	root, err := tlog.ParseHash(v.Root)
	if err != nil {
		return err
	}
	entry, err := base64.StdEncoding.DecodeString(v.Entry)
	if err != nil {
		return err
	}
	return tlog.CheckRecord(tlog.RecordProof(proof), v.Size, root, v.Index, tlog.RecordHash(entry))
}

func checkConsistency(v consistencyVector) error {
	proof, err := hashes(v.Proof)
	if err != nil {
		return err
	}
	oldRoot, err := tlog.ParseHash(v.OldRoot)
	if err != nil {
		return err
	}
	newRoot, err := tlog.ParseHash(v.NewRoot)
	if err != nil {
		return err
	}
	return tlog.CheckTree(tlog.TreeProof(proof), v.NewSize, newRoot, v.OldSize, oldRoot)
}

// c2spPath turns x/mod's go.sum tile path (tile/8/L/N, tile/8/data/N) into C2SP tlog-tiles'
// (tile/L/N, tile/entries/N): the same index encoding, without the height element.
func c2spPath(t tlog.Tile) string {
	p := strings.TrimPrefix(t.Path(), "tile/8/")
	if strings.HasPrefix(p, "data/") {
		return "tile/entries/" + strings.TrimPrefix(p, "data/")
	}
	return "tile/" + p
}

// dirTiles reads the C2SP tiles an rbnet log wrote to a folder.
type dirTiles struct{ dir string }

func (d dirTiles) Height() int                     { return 8 }
func (d dirTiles) SaveTiles([]tlog.Tile, [][]byte) {}
func (d dirTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		data, err := os.ReadFile(filepath.Join(d.dir, c2spPath(t)))
		if err != nil {
			return nil, err
		}
		out[i] = data
	}
	return out, nil
}

func checkTileTree(v tileTreeVector) map[string]verdict {
	results := map[string]verdict{}
	root, err := tlog.ParseHash(v.Root)
	if err != nil {
		results[v.ID] = outcome(err)
		return results
	}
	reader := tlog.TileHashReader(tlog.Tree{N: v.Size, Hash: root}, dirTiles{v.Dir})
	// Every tile read through reader is checked against the root: a tile that does not belong to
	// the tree makes ReadHashes fail.
	th, err := tlog.TreeHash(v.Size, reader)
	if err == nil && th != root {
		err = errors.New("tree hash from tiles differs from the root")
	}
	if err == nil {
		err = checkEntryBundles(v, reader)
	}
	results[v.ID] = outcome(err)
	for _, inc := range v.Inclusion {
		proof, err := tlog.ProveRecord(v.Size, inc.Index, reader)
		if err == nil && strings.Join(encode(proof), ",") != strings.Join(inc.Proof, ",") {
			err = errors.New("go's proof from the tiles differs from rbnet's")
		}
		results[inc.ID] = outcome(err)
	}
	for _, c := range v.Consistency {
		proof, err := tlog.ProveTree(v.Size, c.OldSize, reader)
		if err == nil && strings.Join(encode(proof), ",") != strings.Join(c.Proof, ",") {
			err = errors.New("go's consistency proof from the tiles differs from rbnet's")
		}
		results[c.ID] = outcome(err)
	}
	return results
}

func encode(list []tlog.Hash) []string {
	out := make([]string, len(list))
	for i, h := range list {
		out[i] = h.String()
	}
	return out
}

// Each entry of each bundle must hash (RFC 6962 leaf) to the level-0 hash the tiles hold.
func checkEntryBundles(v tileTreeVector, reader tlog.HashReader) error {
	for start := int64(0); start < v.Size; start += 256 {
		width := v.Size - start
		if width > 256 {
			width = 256
		}
		tile := tlog.Tile{H: 8, L: -1, N: start / 256, W: int(width)}
		data, err := os.ReadFile(filepath.Join(v.Dir, c2spPath(tile)))
		if err != nil {
			return err
		}
		indexes := make([]int64, width)
		for i := range indexes {
			indexes[i] = tlog.StoredHashIndex(0, start+int64(i))
		}
		want, err := reader.ReadHashes(indexes)
		if err != nil {
			return err
		}
		for i := int64(0); i < width; i++ {
			if len(data) < 2 || len(data) < 2+int(binary.BigEndian.Uint16(data[:2])) {
				return fmt.Errorf("entry bundle %d is cut", tile.N)
			}
			n := int(binary.BigEndian.Uint16(data[:2]))
			entry := data[2 : 2+n]
			data = data[2+n:]
			if tlog.RecordHash(entry) != want[i] {
				return fmt.Errorf("entry %d does not hash to its level-0 tile hash", start+i)
			}
		}
		if len(data) != 0 {
			return fmt.Errorf("entry bundle %d has trailing bytes", tile.N)
		}
	}
	return nil
}
