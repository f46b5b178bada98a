// Command thumb is scaler's benchmark helper: it writes the benchmark input,
// resizes one file per process (to time against vipsthumbnail, which also
// pays process start), and scores a resized file against a Catmull-Rom
// reference.
//
//	thumb gen -o photo.jpg                       # 4000x3000, quality 85
//	thumb resize -w 640 -o out.jpg photo.jpg     # scaler.Resize, default filter
//	thumb score -src photo.jpg out.jpg ...       # luma PSNR and SSIM per file
//	thumb procs -n 20 -o DIR photo.jpg           # vipsthumbnail vs thumb resize, per process
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"image"
	_ "image/jpeg"
	_ "image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	"metacdn/scaler"
	"metacdn/scaler/testimg"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "thumb:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("missing command. Try: thumb gen -o photo.jpg")
	}
	switch args[0] {
	case "gen":
		return gen(args[1:])
	case "resize":
		return resize(args[1:])
	case "score":
		return score(args[1:], stdout)
	case "procs":
		return procs(args[1:], stdout)
	}
	return fmt.Errorf("unknown command %q. Try: gen, resize, score, procs", args[0])
}

func gen(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	w := fs.Int("w", 4000, "width")
	h := fs.Int("h", 3000, "height")
	q := fs.Int("q", 85, "JPEG quality")
	seed := fs.Uint64("seed", 1, "picture seed")
	out := fs.String("o", "photo.jpg", "output file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return os.WriteFile(*out, testimg.PhotoJPEG(*w, *h, *seed, *q), 0o644)
}

func resize(args []string) error {
	fs := flag.NewFlagSet("resize", flag.ContinueOnError)
	w := fs.Int("w", 640, "target width")
	q := fs.Int("q", 80, "JPEG quality")
	filter := fs.String("filter", "default", "filter name")
	out := fs.String("o", "out.jpg", "output file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("want one input file. Try: thumb resize -w 640 -o out.jpg photo.jpg")
	}
	f, err := scaler.ParseFilter(*filter)
	if err != nil {
		return err
	}
	src, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	res, err := scaler.Resize(src, *w, scaler.Options{Quality: *q, Filter: f})
	if err != nil {
		return err
	}
	return os.WriteFile(*out, res.Data, 0o644)
}

func score(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("score", flag.ContinueOnError)
	srcPath := fs.String("src", "photo.jpg", "original the files were resized from")
	if err := fs.Parse(args); err != nil {
		return err
	}
	src, err := decodeFile(*srcPath)
	if err != nil {
		return err
	}
	refs := map[image.Point]image.Image{}
	for _, path := range fs.Args() {
		got, err := decodeFile(path)
		if err != nil {
			return err
		}
		size := got.Bounds().Size()
		ref, ok := refs[size]
		if !ok {
			ref = scaler.Scale(src, size.X, size.Y, scaler.FilterCatmullRom)
			refs[size] = ref
		}
		psnr, ssim := scaler.Fidelity(got, ref)
		fmt.Fprintf(stdout, "%s\t%dx%d\tpsnr-dB %.2f\tssim %.4f\n", path, size.X, size.Y, psnr, ssim)
	}
	return nil
}

func decodeFile(path string) (image.Image, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	return img, nil
}

// procs times vipsthumbnail and "thumb resize" as separate processes,
// alternating so that load from elsewhere hits both alike, and prints the
// median wall time and median CPU time (user+system of the child) of each.
func procs(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("procs", flag.ContinueOnError)
	n := fs.Int("n", 20, "runs of each")
	w := fs.Int("w", 640, "target width")
	q := fs.Int("q", 80, "JPEG quality")
	dir := fs.String("o", os.TempDir(), "directory for vips.jpg and go.jpg")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("want one input file. Try: thumb procs -n 20 photo.jpg")
	}
	src := fs.Arg(0)
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmds := []struct {
		name string
		argv []string
	}{
		{"vipsthumbnail", []string{"vipsthumbnail", src, "--size", fmt.Sprintf("%dx", *w), "-o", filepath.Join(*dir, fmt.Sprintf("vips.jpg[Q=%d]", *q))}},
		{"scaler-thumb", []string{self, "resize", "-w", fmt.Sprint(*w), "-q", fmt.Sprint(*q), "-o", filepath.Join(*dir, "go.jpg"), src}},
	}
	wall := make([][]time.Duration, len(cmds))
	cpu := make([][]time.Duration, len(cmds))
	for range *n {
		for i, c := range cmds {
			cmd := exec.Command(c.argv[0], c.argv[1:]...)
			cmd.Stderr = os.Stderr
			t := time.Now()
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("%s: %w", c.name, err)
			}
			wall[i] = append(wall[i], time.Since(t))
			cpu[i] = append(cpu[i], cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime())
		}
	}
	med := func(d []time.Duration) float64 {
		slices.Sort(d)
		return float64(d[len(d)/2].Microseconds()) / 1000
	}
	for i, c := range cmds {
		fmt.Fprintf(stdout, "%s\tp50-ms %.1f\tcpu-p50-ms %.1f\n", c.name, med(wall[i]), med(cpu[i]))
	}
	fmt.Fprintf(stdout, "ratio scaler/vipsthumbnail\twall %.2f\tcpu %.2f\n",
		med(wall[1])/med(wall[0]), med(cpu[1])/med(cpu[0]))
	return nil
}
